package store_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/store"
)

const crashEnv = "VIGIL_STORE_CRASH_DIR"

// TestCrashChild is the writer that TestKillMidWrite kills. It writes
// forever: a new alert, a growth of an earlier one, a status change and a
// state checkpoint, and prints "ack N" after each round has committed.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("run by TestKillMidWrite")
	}
	ctx := t.Context()
	set, err := store.OpenSet(dir, map[string]string{"s-eu": "eu"})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for i := 0; ; i++ {
		sub := []string{"s-eu", "s-x"}[i%2]
		a := mkAlert(alert.IncomingSSH, fmt.Sprintf("vm%d", i), sub, t0.Add(time.Duration(i)*time.Hour))
		if _, err := set.PutAlert(ctx, a); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		if i > 0 {
			j := i / 2
			b := mkAlert(alert.IncomingSSH, fmt.Sprintf("vm%d", j), []string{"s-eu", "s-x"}[j%2], t0.Add(time.Duration(j)*time.Hour))
			b.End = b.End.Add(time.Duration(i) * time.Hour)
			if _, err := set.PutAlert(ctx, b); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			if _, err := set.SetAlertStatus(ctx, b.ID, alert.StatusDismissed, "round "+strconv.Itoa(i), "child"); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
		}
		if err := set.Main().Checkpoint(ctx, t0, map[string][]byte{"round": []byte(strconv.Itoa(i)), "pad": make([]byte, 4096)}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Printf("ack %d\n", i)
	}
}

// TestKillMidWrite kills a writing process with SIGKILL and reopens its
// files: they pass SQLite's integrity check, every acknowledged write is
// there, and no alert is stored twice.
func TestKillMidWrite(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "ack "); ok {
			acked, _ = strconv.Atoi(n)
			if acked >= 150 {
				break
			}
		} else if strings.HasPrefix(line, "error") {
			t.Fatalf("child: %s", line)
		}
	}
	// The child is in the middle of its next round.
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if acked < 150 {
		t.Fatalf("child acknowledged only %d rounds", acked)
	}

	ctx := t.Context()
	set, err := store.OpenSet(dir, map[string]string{"s-eu": "eu"})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	for _, st := range []*store.Store{set.Main(), set.StoreFor("s-eu")} {
		if err := st.IntegrityCheck(ctx); err != nil {
			t.Errorf("%s: %v", st.Path(), err)
		}
	}
	// Every acknowledged alert is present, each once, in its geography.
	seen := map[string]bool{}
	var cur string
	for {
		p, err := set.ListAlerts(ctx, store.AlertQuery{Cursor: cur, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Alerts {
			if seen[a.ID] {
				t.Errorf("alert %s listed twice", a.ID)
			}
			seen[a.ID] = true
		}
		if cur = p.NextCursor; cur == "" {
			break
		}
	}
	if len(seen) < acked+1 || len(seen) > acked+2 {
		t.Errorf("%d alerts after the crash, %d acknowledged", len(seen), acked+1)
	}
	for i := 0; i <= acked; i++ {
		sub := []string{"s-eu", "s-x"}[i%2]
		id := alert.ID(alert.IncomingSSH, fmt.Sprintf("vm%d", i), t0.Add(time.Duration(i)*time.Hour))
		r, err := set.StoreFor(sub).GetAlert(ctx, id)
		if err != nil {
			t.Errorf("acknowledged alert %d: %v", i, err)
			continue
		}
		if i > 0 && i <= acked/2 && r.Status != alert.StatusDismissed {
			t.Errorf("alert %d lost its acknowledged status: %q", i, r.Status)
		}
	}
	b, _, err := set.Main().State(ctx, "round")
	if n, _ := strconv.Atoi(string(b)); err != nil || n < acked {
		t.Errorf("checkpoint round %s (%v), acknowledged %d", b, err, acked)
	}
}
