package world

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// ErrWrite wraps failures to write the world's files.
var ErrWrite = errors.New("world: write")

// buildEpoch is fixed so that the same seed always writes byte-identical
// databases.
const buildEpoch = 1767225600 // 2026-01-01T00:00:00Z

// WriteMMDB writes the world as two MaxMind DB files: a GeoIP2-City-like
// database (country.iso_code, country.names.en, city.names.en,
// location.latitude/longitude/accuracy_radius/time_zone-free) and a
// GeoLite2-ASN-like database (autonomous_system_number and
// autonomous_system_organization). Networks located only to the country
// carry no city record, as in MaxMind's own data.
func (w *World) WriteMMDB(cityPath, asnPath string) error {
	city, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "GeoIP2-City",
		Description:             map[string]string{"en": "Vigil simulated internet (city)"},
		Languages:               []string{"en"},
		IncludeReservedNetworks: true,
		RecordSize:              28,
		BuildEpoch:              buildEpoch,
	})
	if err != nil {
		return fmt.Errorf("%w: city database: %w", ErrWrite, err)
	}
	asn, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "GeoLite2-ASN",
		Description:             map[string]string{"en": "Vigil simulated internet (ASN)"},
		Languages:               []string{"en"},
		IncludeReservedNetworks: true,
		RecordSize:              24,
		BuildEpoch:              buildEpoch,
	})
	if err != nil {
		return fmt.Errorf("%w: asn database: %w", ErrWrite, err)
	}
	for _, p := range w.nets {
		n := &net.IPNet{IP: net.IP(p.Prefix.Addr().AsSlice()), Mask: net.CIDRMask(p.Prefix.Bits(), 32)}
		rec := mmdbtype.Map{
			"country": mmdbtype.Map{
				"iso_code": mmdbtype.String(p.Country),
				"names":    mmdbtype.Map{"en": mmdbtype.String(p.CountryName)},
			},
			"registered_country": mmdbtype.Map{
				"iso_code": mmdbtype.String(p.Country),
				"names":    mmdbtype.Map{"en": mmdbtype.String(p.CountryName)},
			},
			"location": mmdbtype.Map{
				"latitude":        mmdbtype.Float64(p.Lat),
				"longitude":       mmdbtype.Float64(p.Lon),
				"accuracy_radius": mmdbtype.Uint16(p.RadiusKm),
			},
		}
		if p.City != "" {
			rec["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(p.City)}}
		}
		if err := city.Insert(n, rec); err != nil {
			return fmt.Errorf("%w: city %s: %w", ErrWrite, p.Prefix, err)
		}
		if err := asn.Insert(n, mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(p.ASN),
			"autonomous_system_organization": mmdbtype.String(p.Org),
		}); err != nil {
			return fmt.Errorf("%w: asn %s: %w", ErrWrite, p.Prefix, err)
		}
	}
	if err := writeTree(cityPath, city); err != nil {
		return err
	}
	return writeTree(asnPath, asn)
}

func writeTree(path string, t *mmdbwriter.Tree) error {
	return writeFile(path, func(bw *bufio.Writer) error {
		_, err := t.WriteTo(bw)
		return err
	})
}

// writeFile writes through a temporary file and renames it into place, so
// that a reader never sees half a file.
func writeFile(path string, fill func(*bufio.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := fill(bw); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("%w: %s: %w", ErrWrite, path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("%w: %s: %w", ErrWrite, path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w: %s: %w", ErrWrite, path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return nil
}

const torTime = "2006-01-02 15:04:05"

// WriteTorExitList writes the Tor exit list in the format the Tor
// Project's exit-address service publishes: per relay an ExitNode line
// with the fingerprint, Published, LastStatus and one ExitAddress line.
// at is the list's publication time (typically the end of the simulated
// period); relays' own times are derived from it deterministically.
func (w *World) WriteTorExitList(path string, at time.Time) error {
	at = at.UTC().Truncate(time.Second)
	return writeFile(path, func(bw *bufio.Writer) error {
		for _, t := range w.tor {
			pub := at.Add(-time.Duration(t.age) * time.Second)
			status := pub.Add(time.Duration(t.age/3) * time.Second).Truncate(time.Hour)
			if status.Before(pub) {
				status = status.Add(time.Hour)
			}
			seenAt := status.Add(time.Duration(t.age%3000) * time.Second)
			if seenAt.After(at) {
				seenAt = at
			}
			if status.After(at) {
				status = at
			}
			if _, err := fmt.Fprintf(bw, "ExitNode %s\nPublished %s\nLastStatus %s\nExitAddress %s %s\n",
				t.fingerprint, pub.Format(torTime), status.Format(torTime), t.addr, seenAt.Format(torTime)); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteAnonymizerList writes the anonymity feed as CSV with the header
// indicator,category,source,confidence: the VPN services' prefixes (vpn)
// and the mis-tagged corporate egress address (vpn). Tor exits are left to
// the Tor exit list unless withTor is set.
func (w *World) WriteAnonymizerList(path string, withTor bool) error {
	return writeFile(path, func(bw *bufio.Writer) error {
		if _, err := bw.WriteString("indicator,category,source,confidence\n"); err != nil {
			return err
		}
		for _, in := range w.anon {
			if in.Category == "tor" && !withTor {
				continue
			}
			ind := in.Prefix.String()
			if in.Prefix.IsSingleIP() {
				ind = in.Prefix.Addr().String()
			}
			if _, err := fmt.Fprintf(bw, "%s,%s,%s,%d\n", ind, in.Category, in.Source, in.Confidence); err != nil {
				return err
			}
		}
		return nil
	})
}
