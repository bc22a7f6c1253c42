// Package geo locates IP addresses and knows the world's countries: it
// reads MaxMind DB files (GeoIP2 or GeoLite2 City or Country, and ASN)
// and carries a built-in country table with a representative point and
// the land borders of every ISO 3166-1 country, which serves when a
// database only gives the country.
package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/vigil-ids/vigil/audit"
)

// ErrNoDatabase is returned by Open when both paths are empty.
var ErrNoDatabase = errors.New("no geoip database given")

// Result is what the databases say about an address.
type Result struct {
	// Location is the place; Location.Known() is false when the location
	// database has no record. CountryOnly is set when only the country is
	// known (see DB.Lookup).
	Location audit.Location
	// ASN and ASOrg are the autonomous system; zero and empty without an
	// ASN database or record.
	ASN   uint32
	ASOrg string
}

// DB reads a location database (City or Country schema) and an ASN
// database. It is safe for concurrent use.
type DB struct {
	loc         *maxminddb.Reader
	asn         *maxminddb.Reader
	countryOnly bool // the location database has the Country schema
}

type names struct {
	EN string `maxminddb:"en"`
}

type locationRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	City struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"city"`
	Location struct {
		Latitude       *float64 `maxminddb:"latitude"`
		Longitude      *float64 `maxminddb:"longitude"`
		AccuracyRadius uint16   `maxminddb:"accuracy_radius"`
	} `maxminddb:"location"`
}

type asnRecord struct {
	Number uint32 `maxminddb:"autonomous_system_number"`
	Org    string `maxminddb:"autonomous_system_organization"`
}

// Open opens a location database in the City or Country schema
// (--geoip) and an ASN database (--asn). Either path may be empty, not
// both. The schema is taken from the database's metadata: a type naming
// "Country" is country-level.
func Open(cityOrCountryPath, asnPath string) (*DB, error) {
	if cityOrCountryPath == "" && asnPath == "" {
		return nil, ErrNoDatabase
	}
	db := &DB{}
	if cityOrCountryPath != "" {
		r, err := maxminddb.Open(cityOrCountryPath)
		if err != nil {
			return nil, fmt.Errorf("geoip %s: %w", cityOrCountryPath, err)
		}
		db.loc = r
		db.countryOnly = strings.Contains(r.Metadata.DatabaseType, "Country")
	}
	if asnPath != "" {
		r, err := maxminddb.Open(asnPath)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("asn %s: %w", asnPath, err)
		}
		db.asn = r
	}
	return db, nil
}

// Close releases the databases.
func (db *DB) Close() error {
	var errs []error
	if db.loc != nil {
		errs = append(errs, db.loc.Close())
		db.loc = nil
	}
	if db.asn != nil {
		errs = append(errs, db.asn.Close())
		db.asn = nil
	}
	return errors.Join(errs...)
}

// Lookup returns what the databases know of ip, and false when neither
// has a record for it.
//
// The location is country-level (CountryOnly) when the database has the
// Country schema, when the record names no city (MaxMind's country-level
// records carry the country's centre), or when it has no coordinates; in
// the last two cases, missing coordinates come from the country table.
// The country falls back to the registered country when the record has
// none (anycast and satellite networks).
func (db *DB) Lookup(ip netip.Addr) (Result, bool) {
	var res Result
	found := false
	ip = ip.Unmap()
	if !ip.IsValid() {
		return res, false
	}
	if db.loc != nil {
		var rec locationRecord
		if r := db.loc.Lookup(ip); r.Found() && r.Decode(&rec) == nil {
			country := rec.Country.ISOCode
			if country == "" {
				country = rec.RegisteredCountry.ISOCode
			}
			if country != "" {
				found = true
				l := &res.Location
				l.Country = strings.ToUpper(country)
				l.City = rec.City.Names.EN
				l.RadiusKm = float64(rec.Location.AccuracyRadius)
				hasCoords := rec.Location.Latitude != nil && rec.Location.Longitude != nil
				if hasCoords {
					l.Latitude, l.Longitude = *rec.Location.Latitude, *rec.Location.Longitude
				}
				l.CountryOnly = db.countryOnly || l.City == "" || !hasCoords
				if !hasCoords {
					if c, ok := Country(l.Country); ok {
						l.Latitude, l.Longitude = c.Latitude, c.Longitude
					}
				}
			}
		}
	}
	if db.asn != nil {
		var rec asnRecord
		if r := db.asn.Lookup(ip); r.Found() && r.Decode(&rec) == nil && (rec.Number != 0 || rec.Org != "") {
			found = true
			res.ASN, res.ASOrg = rec.Number, rec.Org
		}
	}
	return res, found
}

// Locate is Lookup in the shape of the management detections' Locator.
func (db *DB) Locate(ip netip.Addr) (loc audit.Location, asn uint32, asOrg string, ok bool) {
	r, ok := db.Lookup(ip)
	return r.Location, r.ASN, r.ASOrg, ok
}
