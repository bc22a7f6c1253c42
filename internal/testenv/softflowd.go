package testenv

import (
	"net"
	"net/netip"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

var softflowdReport = regexp.MustCompile(`Flows exported: \d+ \((\d+) records\) in (\d+) packets`)

// Softflowd has softflowd, a real exporter, read a capture and export
// IPFIX to collector over UDP, with the capture's own clock and absolute
// millisecond times. It returns the datagrams and records softflowd reports
// sending; when it returns, softflowd has exited, so every datagram is on
// its way.
func Softflowd(t testing.TB, capture string, collector netip.AddrPort) (datagrams, records int) {
	t.Helper()
	softflowd := Tool(t, "softflowd")
	// With -r softflowd needs -d (foreground), -c none (a control socket
	// can block it forever) and a pid file of its own; -a takes the clock
	// from the capture and -A milli exports absolute times.
	out, err := exec.Command(softflowd, "-r", capture, "-n", collector.String(),
		"-v", "10", "-A", "milli", "-a", "-d", "-c", "none", "-p", filepath.Join(t.TempDir(), "softflowd.pid")).CombinedOutput()
	if err != nil {
		t.Fatalf("softflowd: %v\n%s", err, out)
	}
	m := softflowdReport.FindSubmatch(out)
	if m == nil {
		t.Fatalf("softflowd did not report its exports:\n%s", out)
	}
	records, _ = strconv.Atoi(string(m[1]))
	datagrams, _ = strconv.Atoi(string(m[2]))
	return datagrams, records
}

// Datagram is one UDP datagram received from an exporter.
type Datagram struct {
	From netip.AddrPort
	Data []byte
}

// SoftflowdDatagrams exports a capture through softflowd to a UDP socket of
// the test on loopback and returns every datagram it sent, in order, and
// the number of flow records softflowd reports in them.
func SoftflowdDatagrams(t testing.TB, capture string) (_ []Datagram, records int) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A capture of a few hundred connections fits many times over; the
	// buffer only has to hold what softflowd sends before we read.
	_ = conn.SetReadBuffer(8 << 20)
	n, records := Softflowd(t, capture, conn.LocalAddr().(*net.UDPAddr).AddrPort())
	if err := conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	out := make([]Datagram, 0, n)
	buf := make([]byte, 65535)
	for i := 0; i < n; i++ {
		m, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d: %v", i+1, n, err)
		}
		out = append(out, Datagram{From: from, Data: append([]byte(nil), buf[:m]...)})
	}
	return out, records
}
