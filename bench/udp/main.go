// Command udp measures sustained UDP ingest: it starts the collector on
// loopback, starts a copy of itself as the sender in a separate process,
// which paces pre-encoded IPFIX datagrams (about 28 records each) at the
// target record rate for the given duration, and then reports what was
// sent, what was decoded, the loss, the kernel's RcvbufErrors delta, the
// receive buffer granted and the collector's resident memory.
//
//	go run ./bench/udp -rate 1000000 -duration 60s
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/vigil-ids/vigil/collector"
	"github.com/vigil-ids/vigil/flow"
	"github.com/vigil-ids/vigil/flow/export"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "udp:", err)
		os.Exit(1)
	}
}

// result is what the sender reports on its standard output.
type sendResult struct {
	Datagrams uint64  `json:"datagrams"`
	Records   uint64  `json:"records"`
	Seconds   float64 `json:"seconds"`
	Errors    uint64  `json:"errors"`
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("udp", flag.ContinueOnError)
	rate := fs.Float64("rate", 1e6, "flow records per second to send")
	dur := fs.Duration("duration", 60*time.Second, "how long to send")
	workers := fs.Int("workers", 2, "collector workers (SO_REUSEPORT sockets)")
	rcvbuf := fs.Int("rcvbuf", 64<<20, "receive buffer to ask for, bytes")
	exporters := fs.Int("exporters", 4, "sender sockets (distinct source ports, spread over the workers)")
	sendTo := fs.String("send", "", "internal: run as the sender towards this address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sendTo != "" {
		to, err := netip.ParseAddrPort(*sendTo)
		if err != nil {
			return err
		}
		res, err := send(to, *rate, *dur, *exporters)
		if err != nil {
			return err
		}
		return json.NewEncoder(out).Encode(res)
	}
	return measure(out, *rate, *dur, *workers, *rcvbuf, *exporters)
}

// encode builds the datagrams to replay: n records of realistic variety
// cut into messages of at most 1,400 bytes by the project's IPFIX writer,
// templates and sampling options included every 32 messages.
func encode(n int) (dgs [][]byte, records []int) {
	w := export.NewIPFIXWriterOptions(writerFunc(func(b []byte) (int, error) {
		dgs = append(dgs, append([]byte(nil), b...))
		return len(b), nil
	}), 1, 1, export.DatagramOptions())
	base := time.Now().Truncate(time.Hour)
	var last uint64
	for i := range n {
		r := flow.Record{
			Start: base.Add(time.Duration(i) * time.Millisecond), End: base.Add(time.Duration(i)*time.Millisecond + 3*time.Second),
			SrcAddr: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
			DstAddr: netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 251)}),
			SrcPort: uint16(1024 + i%60000), DstPort: []uint16{22, 443, 3389, 53}[i%4],
			Proto: flow.ProtoTCP, TCPFlags: flow.TCPSyn | flow.TCPAck, Packets: uint64(1 + i%40), Bytes: uint64(60 + i%40*900),
		}
		w.Write(&r)
		if m := w.Messages(); m > uint64(len(records)) {
			// A message was just sent: it held the records written before
			// this one.
			records = append(records, int(w.Records()-1-last))
			last = w.Records() - 1
		}
	}
	w.Flush()
	records = append(records, int(w.Records()-last))
	return dgs, records
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// send paces the datagrams with sendmmsg batches every millisecond from
// several sockets, so that the kernel spreads them over the collector's
// SO_REUSEPORT workers.
func send(to netip.AddrPort, rate float64, dur time.Duration, sockets int) (sendResult, error) {
	dgs, recs := encode(64 * 1024)
	var perDG float64
	for _, r := range recs {
		perDG += float64(r)
	}
	perDG /= float64(len(recs))
	dgRate := rate / perDG
	var conns []*ipv4.PacketConn
	for range sockets {
		c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(to))
		if err != nil {
			return sendResult{}, err
		}
		c.SetWriteBuffer(8 << 20)
		conns = append(conns, ipv4.NewPacketConn(c))
	}
	const batch = 64
	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = make([][]byte, 1)
	}
	var res sendResult
	next := 0
	t0 := time.Now()
	for {
		el := time.Since(t0)
		if el >= dur {
			break
		}
		due := uint64(el.Seconds() * dgRate)
		if due <= res.Datagrams {
			time.Sleep(500 * time.Microsecond)
			continue
		}
		for due > res.Datagrams {
			n := min(int(due-res.Datagrams), batch)
			c := conns[int(res.Datagrams/batch)%len(conns)]
			start := next
			for i := range n {
				msgs[i].Buffers[0] = dgs[next]
				next = (next + 1) % len(dgs)
			}
			sent, err := c.WriteBatch(msgs[:n], 0)
			if err != nil {
				res.Errors++
			}
			for i := range sent {
				res.Records += uint64(recs[(start+i)%len(dgs)])
			}
			res.Datagrams += uint64(sent)
			next = (start + sent) % len(dgs)
			if sent < n && err == nil {
				res.Errors++
			}
		}
	}
	res.Seconds = time.Since(t0).Seconds()
	return res, nil
}

func measure(out io.Writer, rate float64, dur time.Duration, workers, rcvbuf, exporters int) error {
	cfg := collector.DefaultConfig()
	cfg.Listeners = []collector.ListenerConfig{{Name: "ipfix", Listen: "127.0.0.1:0", Workers: workers}}
	cfg.ReceiveBuffer = rcvbuf
	// One counter per worker on its own cache line: handlers never share.
	counts := make([]struct {
		n atomic.Uint64
		_ [56]byte
	}, workers)
	c, err := collector.New(cfg, collector.Deps{NewHandler: func(_ string, w int) flow.Handler {
		n := &counts[w].n
		return func(*flow.Record) { n.Add(1) }
	}})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		return err
	}
	addr := c.Addrs()["ipfix"]
	k0, kerr := collector.ReadKernelUDPCounters()

	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-send", addr.String(), "-rate", strconv.FormatFloat(rate, 'f', 0, 64),
		"-duration", dur.String(), "-exporters", strconv.Itoa(exporters))
	cmd.Stderr = os.Stderr
	var buf strings.Builder
	cmd.Stdout = &buf
	cpu0 := cpuTime()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	var sent sendResult
	if err := json.Unmarshal([]byte(buf.String()), &sent); err != nil {
		return fmt.Errorf("sender output %q: %w", buf.String(), err)
	}
	// Let the workers read what the sockets still hold, then stop.
	time.Sleep(500 * time.Millisecond)
	rss, hwm := memory()
	c.Stop()
	cpu := cpuTime() - cpu0
	k1, _ := collector.ReadKernelUDPCounters()
	st := c.Stats().Listeners[0]
	var decoded uint64
	for i := range counts {
		decoded += counts[i].n.Load()
	}
	loss := 1 - float64(decoded)/float64(sent.Records)
	fmt.Fprintf(out, "machine        %s, %d CPUs, %s\n", hostModel(), runtime.NumCPU(), time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(out, "duration       %.1f s, %d workers, %d sender sockets\n", sent.Seconds, workers, exporters)
	fmt.Fprintf(out, "sent           %d datagrams, %d records (%.0f records/s, %.0f datagrams/s), %d send errors\n",
		sent.Datagrams, sent.Records, float64(sent.Records)/sent.Seconds, float64(sent.Datagrams)/sent.Seconds, sent.Errors)
	fmt.Fprintf(out, "received       %d datagrams, decoded %d records (collector stats: %d)\n", st.Datagrams, decoded, st.Records)
	fmt.Fprintf(out, "loss           %.5f%% (1 - decoded/sent)\n", 100*loss)
	fmt.Fprintf(out, "kernel drops   %d on the collector's sockets (SO_RXQ_OVFL, /proc/net/udp)\n", st.KernelDrops)
	if kerr == nil {
		fmt.Fprintf(out, "RcvbufErrors   +%d (host-wide /proc/net/snmp delta), InErrors +%d\n",
			k1.RcvbufErrors-k0.RcvbufErrors, k1.InErrors-k0.InErrors)
	}
	fmt.Fprintf(out, "receive buffer %d bytes granted per socket (asked %d)\n", st.ReceiveBuffer, rcvbuf)
	fmt.Fprintf(out, "memory         RSS %d MiB, peak %d MiB (collector process)\n", rss>>20, hwm>>20)
	fmt.Fprintf(out, "collector CPU  %.1f s user+sys over the run (%.0f%% of one core)\n", cpu, 100*cpu/sent.Seconds)
	if loss < 0 {
		return errors.New("decoded more than sent")
	}
	return nil
}

// memory returns VmRSS and VmHWM of this process in bytes.
func memory() (rss, hwm uint64) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 {
			v, _ := strconv.ParseUint(fs[1], 10, 64)
			switch fs[0] {
			case "VmRSS:":
				rss = v << 10
			case "VmHWM:":
				hwm = v << 10
			}
		}
	}
	return rss, hwm
}

// cpuTime returns this process's user+system CPU seconds.
func cpuTime() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	fs := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fs) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(fs[11], 64)
	k, _ := strconv.ParseFloat(fs[12], 64)
	return (u + k) / 100 // USER_HZ
}

func hostModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return runtime.GOARCH
}
