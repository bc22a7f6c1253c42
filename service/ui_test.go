package service

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/internal/testenv"
	"github.com/vigil-ids/vigil/store"
)

// TestUIInBrowser drives the embedded UI in Debian's chromium: log in
// with a token, see the alerts, open one with its chart, change its
// status, open a management alert's timeline, and toggle a detection in
// the settings. Each change is checked through the API.
func TestUIInBrowser(t *testing.T) {
	chromium := testenv.Tool(t, "chromium")
	pcap := testenv.SharedData(t, "pcap", "ssh-bruteforce", "hydra-4_tasks.pcap")
	testenv.Tool(t, "softflowd")
	testenv.Tool(t, "curl")
	dir := t.TempDir()
	tok := makeTokens(t, dir)
	svc, base := startService(t, testConfig(t, dir, ""))
	replay(t, svc.CollectorAddrs()["ipfix"].String(), pcap)
	postAudit(t, base, tok.ingest, "testdata/activitylog-custom-role.json")
	var recs map[string][]store.AlertRecord
	waitFor(t, "alerts", func() bool {
		recs = byType(listAlerts(t, base, tok.admin))
		return len(recs[alert.IncomingSSH]) > 0 && len(recs[alert.CustomRolePersistence]) > 0
	})
	ssh, role := recs[alert.IncomingSSH][0], recs[alert.CustomRolePersistence][0]

	opts := append([]chromedp.ExecAllocatorOption{},
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.WindowSize(1280, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
	}
	count := func(sel string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
		if err != nil {
			t.Fatalf("browser: count %s: %v", sel, err)
		}
		return n
	}
	do("log in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`#token`),
		chromedp.SendKeys(`#token`, tok.admin),
		chromedp.Click(`#login-button`),
		chromedp.WaitVisible(`#alerts-table tr.alert-row`))
	rows := count("#alerts-table tr.alert-row")
	do("open the network alert",
		chromedp.Click(`tr.alert-row[data-id="`+ssh.ID+`"]`),
		chromedp.WaitVisible(`#series-chart`))
	points := count("#series-chart circle.point")
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browser: screenshot: %v", err)
	}
	do("change the status",
		chromedp.SetValue(`#status-select`, "dismissed"),
		chromedp.SendKeys(`#status-comment`, "lab scanner"),
		chromedp.Click(`#status-save`),
		chromedp.WaitVisible(`#history`))
	do("open the management alert",
		chromedp.Navigate(base+"/#/alerts/"+role.ID),
		chromedp.WaitVisible(`#operations-timeline li`))
	opsN := count("#operations-timeline li")
	do("toggle a detection",
		chromedp.Navigate(base+"/#/settings/"+subA),
		chromedp.WaitVisible(`#toggle-incoming-rdp`),
		chromedp.Click(`#toggle-incoming-rdp`))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("settings-message").textContent === "Saved."`)); err != nil {
		t.Fatalf("browser: settings not saved: %v", err)
	}
	if rows != 2 {
		t.Errorf("the alerts list shows %d rows, want 2", rows)
	}
	if points == 0 {
		t.Error("the hourly series chart has no points")
	}
	if opsN == 0 {
		t.Error("the operations timeline is empty")
	}
	shotPath := filepath.Join(os.TempDir(), "vigil-ui-alert.png")
	if err := os.WriteFile(shotPath, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the alert page: %s", shotPath)

	var got store.AlertRecord
	if code := apiGet(t, base, tok.admin, "/api/v1/alerts/"+ssh.ID, &got); code != http.StatusOK {
		t.Fatalf("get alert: %d", code)
	}
	if got.Status != alert.StatusDismissed || len(got.History) == 0 || got.History[len(got.History)-1].Comment != "lab scanner" ||
		!strings.Contains(got.History[len(got.History)-1].Actor, "admin") {
		t.Errorf("after the UI change: status %q, history %+v", got.Status, got.History)
	}
	var st store.Settings
	if code := apiGet(t, base, tok.admin, "/api/v1/subscriptions/"+subA+"/settings", &st); code != http.StatusOK {
		t.Fatalf("get settings: %d", code)
	}
	if st.Enabled(alert.IncomingRDP) || !st.Enabled(alert.IncomingSSH) {
		t.Errorf("after the UI toggle: %+v", st)
	}
}
