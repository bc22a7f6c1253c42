package pcap_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/vigil-ids/vigil/flow/pcap"
	"github.com/vigil-ids/vigil/internal/testenv"
)

// ipv4 builds an IPv4 header for a payload of n bytes.
func ipv4(src, dst string, proto uint8, id uint16, flagsOff uint16, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(h[4:], id)
	binary.BigEndian.PutUint16(h[6:], flagsOff)
	h[8] = 64
	h[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(h[12:], s[:])
	copy(h[16:], d[:])
	return append(h, payload...)
}

func ipv6(src, dst string, next uint8, payload []byte) []byte {
	h := make([]byte, 40, 40+len(payload))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6] = next
	h[7] = 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(h[8:], s[:])
	copy(h[24:], d[:])
	return append(h, payload...)
}

func udp(sp, dp uint16, payload []byte) []byte {
	h := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(h[0:], sp)
	binary.BigEndian.PutUint16(h[2:], dp)
	binary.BigEndian.PutUint16(h[4:], uint16(8+len(payload)))
	return append(h, payload...)
}

func tcp(sp, dp uint16, flags uint8, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(h[0:], sp)
	binary.BigEndian.PutUint16(h[2:], dp)
	h[12] = 5 << 4
	h[13] = flags
	return append(h, payload...)
}

func ether(ethertype uint16, tags int, ip []byte) []byte {
	f := make([]byte, 12)
	for range tags {
		f = append(f, 0x81, 0x00, 0x00, 0x64)
	}
	f = binary.BigEndian.AppendUint16(f, ethertype)
	return append(f, ip...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// want is the part of a Packet the table compares.
type want struct {
	Src, Dst    string
	Proto       uint8
	Flags       uint8
	IPLength    int
	Payload     string
	Truncated   bool
	Reassembled bool
}

func view(p *pcap.Packet) want {
	return want{
		Src:         netip.AddrPortFrom(p.Src, p.SrcPort).String(),
		Dst:         netip.AddrPortFrom(p.Dst, p.DstPort).String(),
		Proto:       p.Proto,
		Flags:       p.TCPFlags,
		IPLength:    p.IPLength,
		Payload:     string(p.Payload),
		Truncated:   p.Truncated,
		Reassembled: p.Reassembled,
	}
}

func TestDecodeLinkTypes(t *testing.T) {
	v4udp := ipv4("192.0.2.1", "198.51.100.2", 17, 1, 0, udp(1234, 2055, []byte("hello")))
	v6tcp := ipv6("2001:db8::1", "2001:db8::2", 6, tcp(40000, 443, 0x12, []byte("x")))
	hopByHop := cat([]byte{17, 0, 0, 0, 0, 0, 0, 0}, udp(53, 5353, []byte("dns")))
	wUDP := want{Src: "192.0.2.1:1234", Dst: "198.51.100.2:2055", Proto: 17, IPLength: 33, Payload: "hello"}
	wTCP := want{Src: "[2001:db8::1]:40000", Dst: "[2001:db8::2]:443", Proto: 6, Flags: 0x12, IPLength: 61, Payload: "x"}
	sll := cat([]byte{0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00}, v4udp)
	sll2 := cat([]byte{0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0}, v6tcp)
	tests := []struct {
		name    string
		link    pcap.LinkType
		frame   []byte
		wireLen int
		want    *want
		reason  string // malformed or skipped reason when want is nil
	}{
		{"ethernet ipv4 udp", pcap.LinkEthernet, ether(0x0800, 0, v4udp), 0, &wUDP, ""},
		{"ethernet padding trimmed", pcap.LinkEthernet, cat(ether(0x0800, 0, v4udp), make([]byte, 13)), 0, &wUDP, ""},
		{"qinq ipv6 tcp", pcap.LinkEthernet, ether(0x86dd, 2, v6tcp), 0, &wTCP, ""},
		{"linux sll", pcap.LinkLinuxSLL, sll, 0, &wUDP, ""},
		{"linux sll2", pcap.LinkLinuxSLL2, sll2, 0, &wTCP, ""},
		{"raw v4", pcap.LinkRaw, v4udp, 0, &wUDP, ""},
		{"raw v6", pcap.LinkRaw, v6tcp, 0, &wTCP, ""},
		{"ipv4 link", pcap.LinkIPv4, v4udp, 0, &wUDP, ""},
		{"ipv6 link", pcap.LinkIPv6, v6tcp, 0, &wTCP, ""},
		{"bsd null little-endian", pcap.LinkNull, cat([]byte{2, 0, 0, 0}, v4udp), 0, &wUDP, ""},
		{"openbsd loop ipv6", pcap.LinkLoop, cat([]byte{0, 0, 0, 24}, v6tcp), 0, &wTCP, ""},
		{"ipv6 hop-by-hop then udp", pcap.LinkRaw, ipv6("::1", "::2", 0, hopByHop), 0,
			&want{Src: "[::1]:53", Dst: "[::2]:5353", Proto: 17, IPLength: 59, Payload: "dns"}, ""},
		{"icmp echo", pcap.LinkRaw, ipv4("10.0.0.1", "10.0.0.2", 1, 1, 0, []byte{8, 0, 0, 0, 'p'}), 0,
			&want{Src: "10.0.0.1:0", Dst: "10.0.0.2:2048", Proto: 1, IPLength: 25, Payload: "p"}, ""},
		{"snaplen truncation keeps the wire length", pcap.LinkRaw, v4udp[:30], 33,
			&want{Src: "192.0.2.1:1234", Dst: "198.51.100.2:2055", Proto: 17, IPLength: 33, Payload: "he", Truncated: true}, ""},
		{"arp is skipped", pcap.LinkEthernet, ether(0x0806, 0, make([]byte, 28)), 0, nil, pcap.SkipNonIP},
		{"unknown link type", pcap.LinkType(147), v4udp, 0, nil, pcap.SkipLinkType},
		{"short ethernet", pcap.LinkEthernet, make([]byte, 10), 0, nil, pcap.ReasonShortFrame},
		{"ipv4 longer than frame", pcap.LinkRaw, v4udp[:30], 0, nil, pcap.ReasonIPv4Length},
		{"bad version", pcap.LinkRaw, cat([]byte{0x55}, v4udp[1:]), 0, nil, pcap.ReasonIPVersion},
		{"short tcp", pcap.LinkRaw, ipv4("10.0.0.1", "10.0.0.2", 6, 1, 0, make([]byte, 10)), 0, nil, pcap.ReasonShortTCP},
		{"udp length below 8", pcap.LinkRaw, ipv4("10.0.0.1", "10.0.0.2", 17, 1, 0, []byte{0, 1, 0, 2, 0, 4, 0, 0}), 0, nil, pcap.ReasonUDPLength},
		{"ipv6 esp", pcap.LinkRaw, ipv6("::1", "::2", 50, make([]byte, 16)), 0, nil, pcap.SkipEncrypted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := pcap.NewDecoder(pcap.Config{})
			var p pcap.Packet
			wl := tt.wireLen
			if wl == 0 {
				wl = len(tt.frame)
			}
			ok := d.Decode(tt.link, time.Unix(1, 0), tt.frame, wl, &p)
			st := d.Stats()
			if tt.want == nil {
				if ok {
					t.Fatalf("decoded %+v, want %q", view(&p), tt.reason)
				}
				if st.Malformed[tt.reason]+st.Skipped[tt.reason] != 1 {
					t.Fatalf("counted %v / %v, want %q", st.Malformed, st.Skipped, tt.reason)
				}
				return
			}
			if !ok {
				t.Fatalf("not decoded: malformed %v, skipped %v", st.Malformed, st.Skipped)
			}
			if d := cmp.Diff(*tt.want, view(&p)); d != "" {
				t.Errorf("packet (-want +got):\n%s", d)
			}
		})
	}
}

func TestFragmentReassembly(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 100) // 1600 bytes
	dgram := udp(50000, 4739, payload)                       // 1608 bytes
	frag := func(off, end int, more bool) []byte {
		fo := uint16(off / 8)
		if more {
			fo |= 0x2000
		}
		return ipv4("192.0.2.7", "192.0.2.9", 17, 77, fo, dgram[off:end])
	}
	t.Run("out of order", func(t *testing.T) {
		d := pcap.NewDecoder(pcap.Config{})
		var p pcap.Packet
		frames := [][]byte{frag(1480, 1608, false), frag(0, 744, true), frag(744, 1480, true)}
		for i, f := range frames {
			ok := d.Decode(pcap.LinkRaw, time.Unix(10, 0), f, len(f), &p)
			if ok != (i == 2) {
				t.Fatalf("fragment %d: decoded=%v", i, ok)
			}
		}
		if !p.Reassembled || !bytes.Equal(p.Payload, payload) || p.DstPort != 4739 || p.IPLength != 20+1608 {
			t.Fatalf("reassembled %+v", view(&p))
		}
		if st := d.Stats(); st.Reassembled != 1 || st.Skipped[pcap.SkipNonFirstFrag] != 2 || len(st.Malformed) != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("ipv6", func(t *testing.T) {
		frag6 := func(off, end int, more bool) []byte {
			fh := []byte{17, 0, 0, 0, 0, 0, 0xbe, 0xef}
			fo := uint16(off/8) << 3
			if more {
				fo |= 1
			}
			binary.BigEndian.PutUint16(fh[2:], fo)
			return ipv6("2001:db8::7", "2001:db8::9", 44, cat(fh, dgram[off:end]))
		}
		d := pcap.NewDecoder(pcap.Config{})
		var p pcap.Packet
		frames := [][]byte{frag6(0, 1232, true), frag6(1232, 1608, false)}
		for i, f := range frames {
			if ok := d.Decode(pcap.LinkRaw, time.Unix(10, 0), f, len(f), &p); ok != (i == 1) {
				t.Fatalf("fragment %d: decoded=%v", i, ok)
			}
		}
		if !p.Reassembled || !bytes.Equal(p.Payload, payload) || p.Proto != 17 || p.IPLength != 40+8+1608 {
			t.Fatalf("reassembled %+v", view(&p))
		}
	})
	t.Run("overlap is refused", func(t *testing.T) {
		d := pcap.NewDecoder(pcap.Config{})
		var p pcap.Packet
		for _, f := range [][]byte{frag(0, 744, true), frag(736, 1480, true)} {
			d.Decode(pcap.LinkRaw, time.Unix(10, 0), f, len(f), &p)
		}
		if st := d.Stats(); st.Malformed[pcap.ReasonFragmentOverlap] != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("a last fragment that ends before data already held is refused", func(t *testing.T) {
		d := pcap.NewDecoder(pcap.Config{})
		var p pcap.Packet
		for _, f := range [][]byte{frag(0, 744, true), frag(1480, 1608, true), frag(744, 1000, false)} {
			d.Decode(pcap.LinkRaw, time.Unix(10, 0), f, len(f), &p)
		}
		if st := d.Stats(); st.Malformed[pcap.ReasonFragment] != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("incomplete is counted at timeout and at flush", func(t *testing.T) {
		d := pcap.NewDecoder(pcap.Config{FragmentTimeout: 5 * time.Second})
		var p pcap.Packet
		f := frag(0, 744, true)
		d.Decode(pcap.LinkRaw, time.Unix(10, 0), f, len(f), &p)
		other := ipv4("192.0.2.1", "192.0.2.2", 17, 1, 0x2000, make([]byte, 8))
		d.Decode(pcap.LinkRaw, time.Unix(100, 0), other, len(other), &p)
		if st := d.Stats(); st.Malformed[pcap.ReasonFragmentLost] != 1 {
			t.Errorf("after timeout: %+v", st)
		}
		d.Flush()
		if st := d.Stats(); st.Malformed[pcap.ReasonFragmentLost] != 2 {
			t.Errorf("after flush: %+v", st)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		d := pcap.NewDecoder(pcap.Config{FragmentMax: 4})
		var p pcap.Packet
		for i := range 10 {
			f := ipv4("192.0.2.1", "192.0.2.2", 17, uint16(i), 0x2000, make([]byte, 8))
			d.Decode(pcap.LinkRaw, time.Unix(1, 0), f, len(f), &p)
		}
		d.Flush()
		if st := d.Stats(); st.Malformed[pcap.ReasonFragmentLost] != 10 {
			t.Errorf("stats %+v", st)
		}
	})
}

// writeCapture writes frames as a classic pcap file.
func writeCapture(t testing.TB, link layers.LinkType, frames ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, link); err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(100-i), 0), CaptureLength: len(f), Length: len(f)}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func ngCapture(t testing.TB, link layers.LinkType, frames ...[]byte) []byte {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, link)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(100-i), 0), CaptureLength: len(f), Length: len(f)}
		if err := w.WritePacket(ci, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReaderFormats(t *testing.T) {
	v4 := ipv4("10.1.1.1", "10.2.2.2", 17, 1, 0, udp(1, 2, []byte("abc")))
	arp := ether(0x0806, 0, make([]byte, 28))
	files := map[string][]byte{
		"pcap ethernet":  writeCapture(t, layers.LinkTypeEthernet, ether(0x0800, 1, v4), arp, ether(0x0800, 0, v4)),
		"pcapng sll2":    ngCapture(t, layers.LinkTypeLinuxSLL2, cat([]byte{8, 0}, make([]byte, 18), v4), cat([]byte{8, 6}, make([]byte, 18), make([]byte, 28)), cat([]byte{8, 0}, make([]byte, 18), v4)),
		"pcap raw":       writeCapture(t, layers.LinkTypeRaw, v4, []byte{0x45}, v4),
		"pcapng loop v4": ngCapture(t, layers.LinkTypeLoop, cat([]byte{0, 0, 0, 2}, v4), []byte{0, 0, 0, 99}, cat([]byte{0, 0, 0, 2}, v4)),
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			r, err := pcap.NewReader(bytes.NewReader(data), pcap.Config{})
			if err != nil {
				t.Fatal(err)
			}
			var p pcap.Packet
			var got []string
			for {
				err := r.Next(&p)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, p.Time.UTC().Format("15:04:05")+" "+view(&p).Src+">"+view(&p).Dst+" "+string(p.Payload))
			}
			wantPkts := []string{"00:01:40 10.1.1.1:1>10.2.2.2:2 abc", "00:01:38 10.1.1.1:1>10.2.2.2:2 abc"}
			if d := cmp.Diff(wantPkts, got); d != "" {
				t.Errorf("packets (-want +got):\n%s", d)
			}
			st := r.Stats()
			if st.Frames != 3 || st.TimeBackwards != 2 || st.Decoded != 2 || len(st.Malformed)+len(st.Skipped) != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
	t.Run("truncated file ends cleanly and is counted", func(t *testing.T) {
		data := files["pcap raw"]
		r, err := pcap.NewReader(bytes.NewReader(data[:len(data)-5]), pcap.Config{})
		if err != nil {
			t.Fatal(err)
		}
		var p pcap.Packet
		n := 0
		for r.Next(&p) == nil {
			n++
		}
		if st := r.Stats(); n != 1 || st.Malformed[pcap.ReasonTruncatedFile] != 1 {
			t.Errorf("read %d packets, stats %+v", n, st)
		}
	})
	t.Run("not a capture", func(t *testing.T) {
		if _, err := pcap.NewReader(bytes.NewReader([]byte("{\"records\":[]}")), pcap.Config{}); !errors.Is(err, pcap.ErrNotCapture) {
			t.Errorf("err = %v, want ErrNotCapture", err)
		}
		if _, err := pcap.NewReader(bytes.NewReader(nil), pcap.Config{}); !errors.Is(err, pcap.ErrNotCapture) {
			t.Errorf("empty input: err = %v, want ErrNotCapture", err)
		}
	})
	t.Run("read error", func(t *testing.T) {
		broken := errors.New("disk on fire")
		_, err := pcap.NewReader(iotest.ErrReader(broken), pcap.Config{})
		if !errors.Is(err, broken) || errors.Is(err, pcap.ErrNotCapture) {
			t.Errorf("err = %v, want the read error, not ErrNotCapture", err)
		}
	})
}

func TestSSHCaptures(t *testing.T) {
	// Packet counts and the backwards timestamps from the data set's README.
	for _, c := range []struct {
		file      string
		packets   uint64
		backwards uint64
		syn       int
	}{
		{"hydra-1_tasks.pcap", 2486, 1, 61},
		{"hydra-4_tasks.pcap", 9918, 0, 243},
		{"medusa-1_tasks.pcap", 8475, 1, 196},
		{"ncrack-polite.pcap", 7686, 0, 203},
	} {
		t.Run(c.file, func(t *testing.T) {
			f, err := os.Open(testenv.SharedData(t, "pcap", "ssh-bruteforce", c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := pcap.NewReader(f, pcap.Config{})
			if err != nil {
				t.Fatal(err)
			}
			var p pcap.Packet
			syn := 0
			for {
				if err := r.Next(&p); err != nil {
					if !errors.Is(err, io.EOF) {
						t.Fatal(err)
					}
					break
				}
				if p.TCPFlags&0x12 == 0x02 && p.DstPort == 22 {
					syn++
				}
			}
			st := r.Stats()
			if st.Frames != c.packets || st.Decoded != c.packets || st.TimeBackwards != c.backwards || syn != c.syn {
				t.Errorf("frames %d decoded %d backwards %d syn %d; want %d, %d, %d", st.Frames, st.Decoded, st.TimeBackwards, syn, c.packets, c.backwards, c.syn)
			}
		})
	}
}

func FuzzPcap(f *testing.F) {
	v4 := ipv4("10.1.1.1", "10.2.2.2", 17, 1, 0, udp(1, 2, []byte("abc")))
	fragA := ipv4("10.1.1.1", "10.2.2.2", 17, 9, 0x2000, make([]byte, 16))
	fragB := ipv4("10.1.1.1", "10.2.2.2", 17, 9, 2, udp(1, 2, nil))
	v6 := ipv6("::1", "::2", 44, cat([]byte{17, 0, 0, 0, 0, 0, 0, 1}, udp(5, 6, []byte("zz"))))
	f.Add(writeCapture(f, layers.LinkTypeEthernet, ether(0x0800, 1, v4), ether(0x86dd, 0, v6)))
	f.Add(writeCapture(f, layers.LinkTypeRaw, fragA, fragB))
	f.Add(ngCapture(f, layers.LinkTypeLinuxSLL, cat(make([]byte, 14), []byte{8, 0}, v4)))
	f.Add(ngCapture(f, layers.LinkTypeNull, cat([]byte{30, 0, 0, 0}, v6)))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := pcap.NewReader(bytes.NewReader(data), pcap.Config{FragmentMax: 8})
		if err != nil {
			return
		}
		var p pcap.Packet
		for range 10000 {
			if err := r.Next(&p); err != nil {
				return
			}
			if p.IPLength < 0 || len(p.Payload) > len(data)+65535 {
				t.Fatalf("implausible packet %+v", p)
			}
		}
	})
}

// FuzzDecode feeds one frame three times on any link type: it never
// panics, and every frame is either decoded or counted with a reason.
func FuzzDecode(f *testing.F) {
	f.Add(uint16(1), ether(0x0800, 2, ipv4("10.1.1.1", "10.2.2.2", 6, 1, 0, tcp(1, 2, 2, nil))))
	f.Add(uint16(101), ipv6("::1", "::2", 0, cat([]byte{44, 0, 0, 0, 0, 0, 0, 0}, []byte{17, 0, 0, 9, 0, 0, 0, 1}, udp(5, 6, nil))))
	f.Add(uint16(276), cat([]byte{0x86, 0xdd}, make([]byte, 18), ipv6("::1", "::2", 58, []byte{128, 0, 0, 0})))
	f.Fuzz(func(t *testing.T, link uint16, frame []byte) {
		d := pcap.NewDecoder(pcap.Config{FragmentMax: 4})
		var p pcap.Packet
		var ok uint64
		for i := range 3 {
			if d.Decode(pcap.LinkType(link), time.Unix(int64(i), 0), frame, len(frame), &p) {
				ok++
				if !p.Src.IsValid() || !p.Dst.IsValid() || p.IPLength < 0 {
					t.Fatalf("implausible packet %+v", p)
				}
			}
		}
		d.Flush()
		// Every frame is decoded or counted with a reason; giving up on
		// held fragments adds counts, so this is a lower bound.
		st := d.Stats()
		counted := st.Decoded
		for _, m := range []map[string]uint64{st.Malformed, st.Skipped} {
			for _, n := range m {
				counted += n
			}
		}
		if st.Decoded != ok || counted < 3 {
			t.Fatalf("3 frames, %d decoded, stats %+v", ok, st)
		}
	})
}

func BenchmarkReader(b *testing.B) {
	data, err := os.ReadFile(testenv.SharedData(b, "pcap", "ssh-bruteforce", "hydra-4_tasks.pcap"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	n := 0
	for b.Loop() {
		r, err := pcap.NewReader(bytes.NewReader(data), pcap.Config{})
		if err != nil {
			b.Fatal(err)
		}
		var p pcap.Packet
		for r.Next(&p) == nil {
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "packets/s")
}

// TestDecodeAgainstTshark compares every decoded packet of real captures
// (Ethernet over IPv4 and IPv6, TCP and UDP) with tshark's dissection.
func TestDecodeAgainstTshark(t *testing.T) {
	tshark := testenv.Tool(t, "tshark")
	for _, rel := range [][]string{
		{"pcap", "ssh-bruteforce", "hydra-1_tasks.pcap"},
		{"pcap", "ssh-bruteforce", "medusa-1_tasks.pcap"},
		{"flows", "ipfix-netflow", "pmacct-104-ipfix-ipv6-cisco-sampling-option.pcap"},
		{"flows", "ipfix-netflow", "pmacct-111-ipfix-nfv9-ipv6-ipv4-mix-01.pcap"},
		{"flows", "ipfix-netflow", "pmacct-400-ipfix-bmp-cisco-srv6-00.pcap"},
	} {
		t.Run(rel[len(rel)-1], func(t *testing.T) {
			path := testenv.SharedData(t, rel...)
			out, err := exec.Command(tshark, "-n", "-r", path, "-T", "fields", "-E", "separator=,", "-E", "occurrence=f",
				"-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "ip.proto", "-e", "ipv6.nxt",
				"-e", "tcp.srcport", "-e", "udp.srcport", "-e", "tcp.dstport", "-e", "udp.dstport",
				"-e", "tcp.flags", "-e", "ip.len", "-e", "ipv6.plen").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			var want []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Split(l, ",")
				flags, _ := strconv.ParseUint(strings.TrimPrefix(f[10], "0x"), 16, 16)
				iplen, _ := strconv.Atoi(f[11])
				if f[12] != "" {
					plen, _ := strconv.Atoi(f[12])
					iplen = 40 + plen
				}
				want = append(want, fmt.Sprintf("%s%s>%s%s p%s%s %s%s>%s%s f%d len%d",
					f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], flags&0xff, iplen))
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := pcap.NewReader(f, pcap.Config{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var p pcap.Packet
			for r.Next(&p) == nil {
				got = append(got, fmt.Sprintf("%s>%s p%d %d>%d f%d len%d", p.Src, p.Dst, p.Proto, p.SrcPort, p.DstPort, p.TCPFlags, p.IPLength))
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("packets differ from tshark (-tshark +pcap):\n%s", d)
			}
		})
	}
}
