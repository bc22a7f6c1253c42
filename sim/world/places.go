package world

// countryRow is one row of the built-in geography: a real ISO 3166-1 code,
// the English short name, a representative point (the capital), the land
// neighbours (as the management detections understand "bordering") and the
// regional registry whose address space the country's networks are drawn
// from. Coordinates are approximate (two decimals).
type countryRow struct {
	code, name string
	lat, lon   float64
	rir        rir
	neighbours []string
	cities     []City
}

type rir uint8

const (
	ripe rir = iota
	arin
	apnic
	lacnic
	afrinic
)

// firstOctets lists, per registry, first octets of IPv4 space that the
// registry really administers. None of them is a special-purpose block;
// the few reserved /16s inside them are excluded in reservedSixteen.
var firstOctets = map[rir][]byte{
	ripe:    {2, 5, 31, 37, 46, 62, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 109, 176, 178, 185, 188, 193, 194, 195, 212, 213, 217},
	arin:    {23, 24, 50, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 96, 97, 98, 99, 104, 107, 108, 173, 174, 184, 199, 204, 205, 206, 207, 208, 209},
	apnic:   {1, 14, 27, 36, 39, 42, 43, 49, 58, 59, 60, 61, 101, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 175, 180, 182, 183, 202, 210, 211, 218, 219, 220, 221, 222},
	lacnic:  {177, 179, 181, 186, 187, 189, 190, 191, 200, 201},
	afrinic: {41, 102, 105, 154, 196, 197},
}

func c(name string, lat, lon, tz float64) City {
	return City{Name: name, Lat: lat, Lon: lon, UTCOffset: tz}
}

// countries is the simulated internet's geography. It deliberately mixes
// clusters of bordering countries (FR/BE/DE/LU/NL/CH, US/CA/MX, SG/MY) with
// far pairs (US/AU/JP) so that both look-alike hops and impossible travel
// can be staged.
var countries = []countryRow{
	{"US", "United States", 38.90, -77.04, arin, []string{"CA", "MX"}, []City{
		c("New York", 40.71, -74.01, -5), c("Chicago", 41.88, -87.63, -6), c("San Francisco", 37.77, -122.42, -8),
		c("Seattle", 47.61, -122.33, -8), c("Dallas", 32.78, -96.80, -6), c("Boston", 42.36, -71.06, -5)}},
	{"CA", "Canada", 45.42, -75.70, arin, []string{"US"}, []City{
		c("Toronto", 43.65, -79.38, -5), c("Montreal", 45.50, -73.57, -5), c("Vancouver", 49.28, -123.12, -8)}},
	{"MX", "Mexico", 19.43, -99.13, lacnic, []string{"US"}, []City{
		c("Mexico City", 19.43, -99.13, -6), c("Guadalajara", 20.67, -103.35, -6)}},
	{"BR", "Brazil", -15.79, -47.88, lacnic, []string{"AR"}, []City{
		c("Sao Paulo", -23.55, -46.63, -3), c("Rio de Janeiro", -22.91, -43.17, -3)}},
	{"AR", "Argentina", -34.60, -58.38, lacnic, []string{"BR", "CL"}, []City{
		c("Buenos Aires", -34.60, -58.38, -3), c("Cordoba", -31.42, -64.18, -3)}},
	{"CL", "Chile", -33.45, -70.67, lacnic, []string{"AR"}, []City{
		c("Santiago", -33.45, -70.67, -4)}},
	{"GB", "United Kingdom", 51.51, -0.13, ripe, []string{"IE"}, []City{
		c("London", 51.51, -0.13, 0), c("Manchester", 53.48, -2.24, 0), c("Edinburgh", 55.95, -3.19, 0)}},
	{"IE", "Ireland", 53.35, -6.26, ripe, []string{"GB"}, []City{
		c("Dublin", 53.35, -6.26, 0), c("Cork", 51.90, -8.47, 0)}},
	{"FR", "France", 48.86, 2.35, ripe, []string{"BE", "LU", "DE", "CH", "IT", "ES"}, []City{
		c("Paris", 48.86, 2.35, 1), c("Lyon", 45.76, 4.84, 1), c("Marseille", 43.30, 5.37, 1),
		c("Lille", 50.63, 3.06, 1), c("Strasbourg", 48.57, 7.75, 1), c("Bordeaux", 44.84, -0.58, 1)}},
	{"BE", "Belgium", 50.85, 4.35, ripe, []string{"FR", "NL", "DE", "LU"}, []City{
		c("Brussels", 50.85, 4.35, 1), c("Antwerp", 51.22, 4.40, 1), c("Liege", 50.63, 5.57, 1)}},
	{"NL", "Netherlands", 52.37, 4.90, ripe, []string{"BE", "DE"}, []City{
		c("Amsterdam", 52.37, 4.90, 1), c("Rotterdam", 51.92, 4.48, 1)}},
	{"LU", "Luxembourg", 49.61, 6.13, ripe, []string{"BE", "FR", "DE"}, []City{
		c("Luxembourg", 49.61, 6.13, 1)}},
	{"DE", "Germany", 52.52, 13.40, ripe, []string{"FR", "BE", "NL", "LU", "CH", "AT", "PL", "CZ", "DK"}, []City{
		c("Berlin", 52.52, 13.40, 1), c("Frankfurt", 50.11, 8.68, 1), c("Munich", 48.14, 11.58, 1),
		c("Hamburg", 53.55, 9.99, 1), c("Cologne", 50.94, 6.96, 1)}},
	{"CH", "Switzerland", 46.95, 7.45, ripe, []string{"FR", "DE", "AT", "IT"}, []City{
		c("Zurich", 47.38, 8.54, 1), c("Geneva", 46.20, 6.14, 1)}},
	{"AT", "Austria", 48.21, 16.37, ripe, []string{"DE", "CH", "IT", "CZ"}, []City{
		c("Vienna", 48.21, 16.37, 1)}},
	{"IT", "Italy", 41.90, 12.50, ripe, []string{"FR", "CH", "AT"}, []City{
		c("Milan", 45.46, 9.19, 1), c("Rome", 41.90, 12.50, 1)}},
	{"ES", "Spain", 40.42, -3.70, ripe, []string{"FR", "PT"}, []City{
		c("Madrid", 40.42, -3.70, 1), c("Barcelona", 41.39, 2.17, 1)}},
	{"PT", "Portugal", 38.72, -9.14, ripe, []string{"ES"}, []City{
		c("Lisbon", 38.72, -9.14, 0), c("Porto", 41.15, -8.61, 0)}},
	{"PL", "Poland", 52.23, 21.01, ripe, []string{"DE", "CZ", "UA"}, []City{
		c("Warsaw", 52.23, 21.01, 1), c("Krakow", 50.06, 19.94, 1)}},
	{"CZ", "Czechia", 50.08, 14.44, ripe, []string{"DE", "AT", "PL"}, []City{
		c("Prague", 50.08, 14.44, 1)}},
	{"DK", "Denmark", 55.68, 12.57, ripe, []string{"DE"}, []City{
		c("Copenhagen", 55.68, 12.57, 1)}},
	{"SE", "Sweden", 59.33, 18.07, ripe, []string{"NO", "FI"}, []City{
		c("Stockholm", 59.33, 18.07, 1), c("Gothenburg", 57.71, 11.97, 1)}},
	{"NO", "Norway", 59.91, 10.75, ripe, []string{"SE", "FI"}, []City{
		c("Oslo", 59.91, 10.75, 1)}},
	{"FI", "Finland", 60.17, 24.94, ripe, []string{"SE", "NO", "RU"}, []City{
		c("Helsinki", 60.17, 24.94, 2)}},
	{"RU", "Russia", 55.76, 37.62, ripe, []string{"FI", "UA"}, []City{
		c("Moscow", 55.76, 37.62, 3), c("Saint Petersburg", 59.93, 30.36, 3)}},
	{"UA", "Ukraine", 50.45, 30.52, ripe, []string{"PL", "RU", "RO"}, []City{
		c("Kyiv", 50.45, 30.52, 2)}},
	{"RO", "Romania", 44.43, 26.10, ripe, []string{"UA"}, []City{
		c("Bucharest", 44.43, 26.10, 2)}},
	{"TR", "Turkey", 39.93, 32.86, ripe, nil, []City{
		c("Istanbul", 41.01, 28.98, 3), c("Ankara", 39.93, 32.86, 3)}},
	{"IL", "Israel", 31.77, 35.21, ripe, nil, []City{
		c("Tel Aviv", 32.09, 34.78, 2)}},
	{"AE", "United Arab Emirates", 24.45, 54.38, ripe, nil, []City{
		c("Dubai", 25.20, 55.27, 4)}},
	{"IN", "India", 28.61, 77.21, apnic, nil, []City{
		c("Mumbai", 19.08, 72.88, 5.5), c("Bangalore", 12.97, 77.59, 5.5), c("Delhi", 28.61, 77.21, 5.5)}},
	{"SG", "Singapore", 1.35, 103.82, apnic, []string{"MY"}, []City{
		c("Singapore", 1.35, 103.82, 8)}},
	{"MY", "Malaysia", 3.14, 101.69, apnic, []string{"SG"}, []City{
		c("Kuala Lumpur", 3.14, 101.69, 8)}},
	{"VN", "Vietnam", 21.03, 105.85, apnic, []string{"CN"}, []City{
		c("Hanoi", 21.03, 105.85, 7), c("Ho Chi Minh City", 10.82, 106.63, 7)}},
	{"CN", "China", 39.90, 116.41, apnic, []string{"VN"}, []City{
		c("Beijing", 39.90, 116.41, 8), c("Shanghai", 31.23, 121.47, 8)}},
	{"KR", "South Korea", 37.57, 126.98, apnic, nil, []City{
		c("Seoul", 37.57, 126.98, 9)}},
	{"JP", "Japan", 35.68, 139.69, apnic, nil, []City{
		c("Tokyo", 35.68, 139.69, 9), c("Osaka", 34.69, 135.50, 9)}},
	{"AU", "Australia", -35.28, 149.13, apnic, nil, []City{
		c("Sydney", -33.87, 151.21, 10), c("Melbourne", -37.81, 144.96, 10), c("Perth", -31.95, 115.86, 8)}},
	{"NZ", "New Zealand", -41.29, 174.78, apnic, nil, []City{
		c("Auckland", -36.85, 174.76, 12)}},
	{"ZA", "South Africa", -25.75, 28.19, afrinic, nil, []City{
		c("Johannesburg", -26.20, 28.05, 2), c("Cape Town", -33.92, 18.42, 2)}},
	{"NG", "Nigeria", 9.08, 7.40, afrinic, nil, []City{
		c("Lagos", 6.52, 3.38, 1)}},
	{"EG", "Egypt", 30.04, 31.24, afrinic, nil, []City{
		c("Cairo", 30.04, 31.24, 2)}},
}

// cloudRegions places the three clouds' regions in the world's cities.
// The first octets are the ones the providers are known for.
var cloudRegions = []struct {
	provider string
	asn      uint32
	org      string
	octets   []byte
	regions  []string // "CC/City/region-name"
}{
	{"azure", 8075, "MICROSOFT-CORP-MSN-AS-BLOCK", []byte{13, 20, 40, 51, 52},
		[]string{"NL/Amsterdam/westeurope", "IE/Dublin/northeurope", "FR/Paris/francecentral", "DE/Frankfurt/germanywestcentral",
			"US/Boston/eastus", "US/San Francisco/westus", "GB/London/uksouth", "JP/Tokyo/japaneast", "AU/Sydney/australiaeast", "SG/Singapore/southeastasia"}},
	{"aws", 16509, "AMAZON-02", []byte{3, 18, 35, 52, 54},
		[]string{"US/Boston/us-east-1", "US/Seattle/us-west-2", "IE/Dublin/eu-west-1", "DE/Frankfurt/eu-central-1",
			"FR/Paris/eu-west-3", "JP/Tokyo/ap-northeast-1", "AU/Sydney/ap-southeast-2"}},
	{"gcp", 15169, "GOOGLE", []byte{34, 35},
		[]string{"US/Chicago/us-central1", "BE/Brussels/europe-west1", "NL/Amsterdam/europe-west4", "DE/Frankfurt/europe-west3", "JP/Tokyo/asia-northeast1"}},
}

// hostingProviders run the servers behind Tor exits, scanners and the
// VPN services' endpoints.
var hostingProviders = []struct {
	asn       uint32
	org       string
	countries []string
}{
	{24940, "Hetzner Online GmbH", []string{"DE", "FI"}},
	{16276, "OVH SAS", []string{"FR", "CA", "PL", "GB"}},
	{14061, "DIGITALOCEAN-ASN", []string{"US", "NL", "DE", "SG", "GB", "IN"}},
	{63949, "Akamai Connected Cloud", []string{"US", "JP", "DE"}},
	{60781, "LeaseWeb Netherlands B.V.", []string{"NL"}},
	{51167, "Contabo GmbH", []string{"DE", "US"}},
}

// vpnServices are commercial anonymising VPN providers (fictional names);
// their endpoints sit in many countries, which is what makes them look
// like travel.
var vpnServices = []struct {
	org       string
	countries []string
}{
	{"Obscura Privacy Networks AB", []string{"SE", "NL", "CH", "US", "GB", "JP", "SG", "CA"}},
	{"Tunnelvault VPN Ltd", []string{"GB", "DE", "FR", "US", "AU", "RO", "ES"}},
}

// orgs are the corporate identities a seed can give the estate's owner.
var orgs = []struct{ name, domain string }{
	{"Contoso Ltd", "contoso.com"},
	{"Fabrikam Inc", "fabrikam.com"},
	{"Northwind Traders", "northwindtraders.com"},
	{"Woodgrove Bank", "woodgrovebank.com"},
	{"Tailspin Toys", "tailspintoys.com"},
}

// hqCountries are where a seed may place the organisation's head office.
var hqCountries = []string{"FR", "DE", "GB", "NL", "US", "BE"}
