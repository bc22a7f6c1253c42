package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-ids/vigil/sim/world"
)

// role is what a resource does; it decides its traffic.
type role uint8

const (
	roleWeb role = iota
	roleLinux
	roleWindows
	roleDB
	roleBastion
	roleJump
	roleRDPGateway
)

var roleNames = [...]string{"web", "linux", "windows", "db", "bastion", "jump", "rdp-gateway"}

func (r role) String() string { return roleNames[r] }

func (r role) windows() bool { return r == roleWindows || r == roleRDPGateway }

// sourceKind is the telemetry format a flow source writes.
type sourceKind uint8

const (
	kindIPFIX sourceKind = iota // IPFIX files (RFC 5655)
	kindPcap                    // IPFIX datagrams in a pcap
	kindNSG                     // Azure NSG flow logs, version 2
	kindVNet                    // Azure VNet flow logs, flowLogVersion 4
	kindVPC                     // AWS VPC Flow Logs, version 2
)

var kindNames = [...]string{"ipfix", "pcap", "azure-nsg", "azure-vnet", "aws-vpc"}

func (k sourceKind) String() string { return kindNames[k] }

// source is one exporter or flow log.
type source struct {
	name      string
	kind      sourceKind
	rate      uint32 // packet sampling, 1 in rate
	obsDomain uint32
	exporter  netip.Addr
	account   string // subscription or AWS account
	region    string
}

// ipSpan is one address a resource held, from from until to (zero: still).
type ipSpan struct {
	addr     netip.Addr
	from, to time.Time
}

// interval is a half-open time range.
type interval struct{ from, to time.Time }

// resource is one virtual machine of the estate.
type resource struct {
	id, name string
	account  string
	role     role
	private  netip.Addr
	public   []ipSpan
	created  time.Time
	sources  []int // indexes into estate.sources; more than one for a resource seen by two exporters
	mac      string
	// cloud and region locate the public addresses ("azure", "westeurope").
	cloud, region string
	// Mean commodity probes per hour on 22 and 3389: every public address
	// on the internet gets them.
	probeSSH, probeRDP float64
	busy               []interval // scheduled incidents and look-alikes
}

// publicAt returns the public address held at t, if any.
func (r *resource) publicAt(t time.Time) (netip.Addr, bool) {
	for _, s := range r.public {
		if !t.Before(s.from) && (s.to.IsZero() || t.Before(s.to)) {
			return s.addr, true
		}
	}
	return netip.Addr{}, false
}

func (r *resource) isBusy(from, to time.Time) bool {
	for _, b := range r.busy {
		if from.Before(b.to) && to.After(b.from) {
			return true
		}
	}
	return false
}

// estate is the simulated deployment and the internet around it.
type estate struct {
	subscriptions []string
	awsAccount    string
	sources       []source
	resources     []*resource
	// Address pools of the internet.
	scanners  []netip.Addr // commodity scanners, shared by all resources
	admins    []netip.Addr // corporate egress and admins' home addresses
	ciRunners []netip.Addr
	users     []netip.Addr // remote desktop users
	c2        []netip.Addr // listed command-and-control addresses
	updates   []netip.Addr // package mirrors and update servers
	used      map[netip.Addr]bool
	// listed holds every address of the threat feed, and listedNets its
	// networks, so that random internet hosts never fall in them by chance.
	listed     map[netip.Addr]bool
	listedNets []netip.Prefix
	// world is the simulated internet that the GeoIP databases describe;
	// remote hosts are drawn from its networks.
	world *world.World
}

var appNames = []string{"orders", "payments", "catalog", "billing", "search", "ledger", "portal", "reports", "media", "crm", "hr", "analytics", "checkout", "identity", "inventory", "shipping"}

// group is a set of resources sharing a flow source and a subscription.
type group struct {
	source int
	sub    int // index into subscriptions, -1 for the AWS account
	roles  []role
}

func buildEstate(r rng, cfg Config) *estate {
	e := &estate{used: make(map[netip.Addr]bool), listed: make(map[netip.Addr]bool), world: world.New(cfg.Seed)}
	for range 3 {
		e.subscriptions = append(e.subscriptions, r.guid())
	}
	e.awsAccount = fmt.Sprintf("%012d", r.Int64N(1e12))
	// The estate's addresses come from the clouds' regions of the world,
	// so that the GeoIP databases place them where they run.
	ex := func() netip.Addr { return e.newAddr(r, "azure", "westeurope") }
	e.sources = []source{
		{name: "edge-a", kind: kindIPFIX, rate: 1, obsDomain: uint32(r.between(1, 4000)), exporter: ex(), account: e.subscriptions[0]},
		{name: "edge-b", kind: kindIPFIX, rate: 10, obsDomain: uint32(r.between(1, 4000)), exporter: ex(), account: e.subscriptions[0]},
		{name: "edge-c", kind: kindPcap, rate: 1, obsDomain: uint32(r.between(1, 4000)), exporter: ex(), account: e.subscriptions[1]},
		{name: "nsg", kind: kindNSG, rate: 1, account: e.subscriptions[2], region: "westeurope"},
		{name: "vnet", kind: kindVNet, rate: 1, account: e.subscriptions[2], region: "northeurope"},
		{name: "vpc", kind: kindVPC, rate: 1, account: e.awsAccount, region: pick(r, []string{"eu-west-1", "eu-central-1", "us-east-1"})},
	}
	groups := []group{
		{0, 0, []role{roleBastion, roleJump, roleRDPGateway, roleWeb, roleWeb, roleWeb, roleWeb, roleWeb, roleLinux, roleLinux, roleLinux, roleLinux, roleWindows, roleWindows, roleWindows, roleWindows, roleDB, roleDB, roleDB}},
		{1, 0, []role{roleWeb, roleWeb, roleWeb, roleLinux, roleLinux, roleLinux, roleWindows, roleWindows, roleWindows}},
		{2, 1, []role{roleWeb, roleWeb, roleLinux, roleLinux, roleWindows, roleWindows}},
		{3, 2, []role{roleWeb, roleWeb, roleLinux, roleLinux, roleWindows, roleWindows}},
		{4, 2, []role{roleWeb, roleLinux, roleLinux, roleWindows}},
		{5, -1, []role{roleWeb, roleWeb, roleLinux, roleLinux, roleWindows, roleWindows}},
	}
	apps := append([]string(nil), appNames...)
	r.Shuffle(len(apps), func(i, j int) { apps[i], apps[j] = apps[j], apps[i] })
	privBase := byte(r.between(16, 200))
	historyDays := max(cfg.Days-cfg.FlowDays, 1)
	names := make(map[string]bool)
	for gi, g := range groups {
		for copyN := range cfg.Scale {
			for ri, rl := range g.roles {
				app := apps[(gi*3+ri/3+copyN)%len(apps)]
				if rl == roleBastion || rl == roleJump || rl == roleRDPGateway {
					app = "shared"
				}
				name := fmt.Sprintf("%s-%s-%02d", app, rl, 1+r.IntN(40))
				for names[name] {
					name = fmt.Sprintf("%s-%s-%02d", app, rl, 1+r.IntN(99))
				}
				names[name] = true
				res := &resource{name: name, role: rl, sources: []int{g.source}}
				res.created = cfg.Start.Add(time.Duration(r.IntN(historyDays*24)) * time.Hour).Add(time.Duration(r.IntN(3600)) * time.Second)
				sub := byte(gi*8 + copyN/32)
				res.private = netip.AddrFrom4([4]byte{10, privBase + byte(copyN%32), sub, byte(4 + ri)})
				if g.sub >= 0 {
					res.account = e.subscriptions[g.sub]
					rg := "rg-" + app + "-prod"
					res.id = "/subscriptions/" + res.account + "/resourceGroups/" + rg + "/providers/Microsoft.Compute/virtualMachines/" + name
				} else {
					res.account = e.awsAccount
					res.id = fmt.Sprintf("arn:aws:ec2:%s:%s:instance/i-%s", e.sources[g.source].region, e.awsAccount, r.hex(17))
				}
				res.mac = fmt.Sprintf("000D3A%06X", r.IntN(1<<24))
				if rl != roleDB {
					src := e.sources[g.source]
					cloud, region := "azure", src.region
					if src.kind == kindVPC {
						cloud = "aws"
					}
					if region == "" {
						region = "westeurope"
					}
					res.cloud, res.region = cloud, region
					res.public = []ipSpan{{addr: e.newAddr(r, cloud, region), from: res.created}}
					// Some machines were deallocated once and came back with
					// a new dynamic address, before the flow window.
					if r.IntN(8) == 0 {
						at := res.created.Add(time.Duration(r.IntN(24*10)) * time.Hour)
						if at.Before(cfg.flowStart().Add(-24 * time.Hour)) {
							res.public[0].to = at
							res.public = append(res.public, ipSpan{addr: e.newAddr(r, cloud, region), from: at})
						}
					}
				}
				res.probeSSH = 6 + 20*r.Float64()
				res.probeRDP = 6 + 20*r.Float64()
				e.resources = append(e.resources, res)
			}
		}
	}
	// The first web server of edge-a is also seen by edge-b (1 in 10): a
	// detector must count it from one exporter, never the sum.
	for _, res := range e.resources {
		if res.role == roleWeb && res.sources[0] == 0 {
			res.sources = append(res.sources, 1)
			break
		}
	}
	n := func(k int) int { return k * max(1, cfg.Scale/4+1) }
	// The feed's networks come first, so that no host drawn after them
	// falls inside one by chance.
	for range 4 {
		p, _ := e.randomInternet(r).Prefix(24)
		e.listedNets = append(e.listedNets, p)
	}
	hq, _ := e.world.HQ()
	e.scanners = e.internetOf(r, n(3000), "", world.KindHosting)
	e.admins = e.internetOf(r, 8, hq, world.KindResidential)
	for _, a := range e.world.CorporateEgress() {
		if !e.used[a] {
			e.used[a] = true
			e.admins = append(e.admins, a)
		}
	}
	e.ciRunners = e.internetOf(r, 3, "", world.KindCloud)
	e.users = e.internetOf(r, n(80), hq, world.KindResidential)
	e.c2 = e.internetOf(r, 24, "", world.KindHosting)
	for _, a := range e.c2 {
		e.listed[a] = true
	}
	e.updates = e.internetOf(r, 8, "", world.KindHosting)
	return e
}

// newAddr returns an unused address of a cloud region of the world.
func (e *estate) newAddr(r rng, cloud, region string) netip.Addr {
	for {
		a, ok := e.world.CloudIP(r.Rand, cloud, region)
		if !ok {
			a, _ = e.world.CloudIP(r.Rand, cloud, "")
		}
		if b := a.As4(); b[3] == 0 || b[3] == 255 {
			continue
		}
		if !e.used[a] {
			e.used[a] = true
			return a
		}
	}
}

// randomInternet returns a public address of the world (three in four
// from home broadband or mobile networks, the rest from hosting), outside
// the estate's blocks and the threat feed.
func (e *estate) randomInternet(r rng) netip.Addr {
	kind := world.KindResidential
	switch r.IntN(8) {
	case 0, 1:
		kind = world.KindHosting
	case 2:
		kind = world.KindMobile
	}
	return e.randomOf(r, "", kind)
}

// randomOf returns a public address of a network of the given kind and
// country ("" for any), falling back to any routable address when the
// world has none.
func (e *estate) randomOf(r rng, country string, kind world.Kind) netip.Addr {
	for try := 0; ; try++ {
		a, ok := e.world.RandomIPIn(r.Rand, country, kind)
		if !ok || try > 50 {
			a = netip.AddrFrom4([4]byte{byte(r.IntN(224)), byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))})
		}
		// Estate addresses are all in used; they never stand for a
		// remote host.
		if !isPublic(a) || e.used[a] || e.listed[a] {
			continue
		}
		for _, p := range e.listedNets {
			if p.Contains(a) {
				a = netip.Addr{}
				break
			}
		}
		if a.IsValid() {
			return a
		}
	}
}

// internetOf is internet restricted to a kind of network and a country.
func (e *estate) internetOf(r rng, n int, country string, kind world.Kind) []netip.Addr {
	out := make([]netip.Addr, 0, n)
	for len(out) < n {
		a := e.randomOf(r, country, kind)
		if !e.used[a] {
			e.used[a] = true
			out = append(out, a)
		}
	}
	return out
}

// internet returns n distinct, unused public addresses.
func (e *estate) internet(r rng, n int) []netip.Addr {
	out := make([]netip.Addr, 0, n)
	for len(out) < n {
		a := e.randomInternet(r)
		if !e.used[a] {
			e.used[a] = true
			out = append(out, a)
		}
	}
	return out
}

// inventoryLine is the issue-4 inventory format.
type inventoryLine struct {
	Resource string     `json:"resource"`
	IP       string     `json:"ip"`
	From     time.Time  `json:"from"`
	To       *time.Time `json:"to"`
}

func (e *estate) writeInventory(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	bw := bufio.NewWriter(f)
	enc := json.NewEncoder(bw)
	for _, res := range e.resources {
		lines := []inventoryLine{{Resource: res.id, IP: res.private.String(), From: res.created.UTC()}}
		for _, s := range res.public {
			l := inventoryLine{Resource: res.id, IP: s.addr.String(), From: s.from.UTC()}
			if !s.to.IsZero() {
				to := s.to.UTC()
				l.To = &to
			}
			lines = append(lines, l)
		}
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				f.Close()
				return fmt.Errorf("inventory: %w", err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("inventory: %w", err)
	}
	return f.Close()
}

// estateSummary is estate.json: what was simulated, for people and tests.
type estateSummary struct {
	Subscriptions []string          `json:"subscriptions"`
	AWSAccount    string            `json:"aws_account"`
	Sources       []sourceSummary   `json:"sources"`
	Resources     []resourceSummary `json:"resources"`
}

type sourceSummary struct {
	Name         string `json:"name"`
	Format       string `json:"format"`
	SamplingRate uint32 `json:"sampling_rate"`
	Exporter     string `json:"exporter,omitempty"`
	Account      string `json:"account"`
}

type resourceSummary struct {
	ID      string   `json:"id"`
	Role    string   `json:"role"`
	Private string   `json:"private_ip"`
	Public  []string `json:"public_ips,omitempty"`
	Sources []string `json:"sources"`
}

func (e *estate) writeSummary(path string) error {
	s := estateSummary{Subscriptions: e.subscriptions, AWSAccount: e.awsAccount}
	for _, src := range e.sources {
		ss := sourceSummary{Name: src.name, Format: src.kind.String(), SamplingRate: src.rate, Account: src.account}
		if src.exporter.IsValid() {
			ss.Exporter = src.exporter.String()
		}
		s.Sources = append(s.Sources, ss)
	}
	for _, res := range e.resources {
		rs := resourceSummary{ID: res.id, Role: res.role.String(), Private: res.private.String()}
		for _, p := range res.public {
			rs.Public = append(rs.Public, p.addr.String())
		}
		for _, i := range res.sources {
			rs.Sources = append(rs.Sources, e.sources[i].name)
		}
		s.Resources = append(s.Resources, rs)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("estate summary: %w", err)
	}
	return os.WriteFile(filepath.Clean(path), append(b, '\n'), 0o644)
}
