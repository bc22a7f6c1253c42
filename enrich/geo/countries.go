package geo

import (
	_ "embed"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

//go:embed countries.tsv
var countriesTSV string

//go:embed borders.tsv
var bordersTSV string

// CountryInfo describes one country (or territory with its own ISO
// 3166-1 code) of the built-in table.
type CountryInfo struct {
	// Code is the ISO 3166-1 alpha-2 code, upper case (XK for Kosovo).
	Code string
	// Name is the short English name.
	Name string
	// Latitude and Longitude are a representative point: the geographic
	// centre, or the capital or main island where the centre misleads.
	Latitude, Longitude float64
	// Borders lists the codes of the countries it shares a land border
	// with, sorted.
	Borders []string
}

// table is the parsed country table. It is built once and never modified.
type table struct {
	byCode map[string]*CountryInfo
	codes  []string
}

var loadTable = sync.OnceValue(func() *table {
	t := &table{byCode: map[string]*CountryInfo{}}
	for _, line := range strings.Split(countriesTSV, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			panic("geo: bad countries.tsv line: " + line) // embedded data, checked by tests
		}
		lat, err1 := strconv.ParseFloat(f[1], 64)
		lon, err2 := strconv.ParseFloat(f[2], 64)
		if err1 != nil || err2 != nil {
			panic("geo: bad coordinates in countries.tsv: " + line)
		}
		t.byCode[f[0]] = &CountryInfo{Code: f[0], Name: f[3], Latitude: lat, Longitude: lon}
		t.codes = append(t.codes, f[0])
	}
	for _, line := range strings.Split(bordersTSV, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		code, rest, _ := strings.Cut(line, "\t")
		c := t.byCode[code]
		if c == nil {
			panic("geo: borders.tsv names an unknown country: " + code)
		}
		c.Borders = strings.Fields(rest)
		slices.Sort(c.Borders)
	}
	slices.Sort(t.codes)
	return t
})

// Country returns the table's entry for an ISO 3166-1 alpha-2 code, in
// either case. The Borders slice is shared: do not modify it.
func Country(code string) (CountryInfo, bool) {
	c := loadTable().byCode[strings.ToUpper(strings.TrimSpace(code))]
	if c == nil {
		return CountryInfo{}, false
	}
	return *c, true
}

// Countries returns every country of the table, sorted by code.
func Countries() []CountryInfo {
	t := loadTable()
	out := make([]CountryInfo, 0, len(t.codes))
	for _, c := range t.codes {
		out = append(out, *t.byCode[c])
	}
	return out
}

// Bordering reports whether two countries share a land border. A country
// does not border itself, and unknown codes border nothing.
func Bordering(a, b string) bool {
	a, b = strings.ToUpper(a), strings.ToUpper(b)
	c := loadTable().byCode[a]
	if c == nil || a == b {
		return false
	}
	_, found := slices.BinarySearch(c.Borders, b)
	return found
}

// earthRadiusKm is the mean Earth radius (IUGG).
const earthRadiusKm = 6371.0088

// DistanceKm returns the great-circle distance in kilometres between two
// points given in degrees, by the haversine formula on a spherical Earth
// (within 0.5% of the ellipsoidal distance, ample for travel speeds).
func DistanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	s := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(s)))
}

// Table is the built-in country table as a value, for callers that take
// it through an interface (the management detections' Countries).
type Table struct{}

// Bordering reports whether two countries share a land border.
func (Table) Bordering(a, b string) bool { return Bordering(a, b) }

// Centroid returns a country's representative latitude and longitude.
func (Table) Centroid(code string) (lat, lon float64, ok bool) {
	c, ok := Country(code)
	return c.Latitude, c.Longitude, ok
}
