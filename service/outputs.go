package service

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vigil-ids/vigil/alert"
)

// SignatureHeader carries the webhook body's HMAC-SHA256, as
// "sha256=<hex>".
const SignatureHeader = "X-Vigil-Signature"

// outputs fan alerts out to the webhooks and the JSON-lines file.
type outputs struct {
	hooks  []*webhook
	file   *os.File
	fileMu sync.Mutex
	logger *slog.Logger
	m      *metrics
	wg     sync.WaitGroup
}

type webhook struct {
	cfg    WebhookConfig
	name   string
	secret []byte
	queue  chan []byte
	client *http.Client
	dead   string
	stop   chan struct{}
}

func newOutputs(cfg Outputs, dataDir string, logger *slog.Logger, m *metrics) (*outputs, error) {
	o := &outputs{logger: logger.With("component", "outputs"), m: m}
	for i, wc := range cfg.Webhooks {
		name := wc.Name
		if name == "" {
			name = fmt.Sprintf("webhook-%d", i)
		}
		secret := []byte(wc.Secret)
		if wc.SecretFile != "" {
			b, err := os.ReadFile(wc.SecretFile)
			if err != nil {
				return nil, fmt.Errorf("webhook %s: %w", name, err)
			}
			secret = bytes.TrimSpace(b)
		}
		if wc.Timeout == 0 {
			wc.Timeout = 10 * time.Second
		}
		if wc.Backoff == 0 {
			wc.Backoff = time.Second
		}
		if wc.QueueSize == 0 {
			wc.QueueSize = 1000
		}
		h := &webhook{cfg: wc, name: name, secret: secret, queue: make(chan []byte, wc.QueueSize),
			client: &http.Client{Timeout: wc.Timeout}, dead: filepath.Join(dataDir, "deadletter-"+name+".jsonl"),
			stop: make(chan struct{})}
		o.hooks = append(o.hooks, h)
		o.wg.Add(1)
		go func() { defer o.wg.Done(); o.runHook(h) }()
	}
	if cfg.JSONFile != "" {
		f, err := os.OpenFile(cfg.JSONFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
		if err != nil {
			return nil, fmt.Errorf("json-file: %w", err)
		}
		o.file = f
	}
	return o, nil
}

// deliver queues an alert for every output; it never blocks on a slow
// receiver: a full queue sends the alert to the dead-letter file.
func (o *outputs) deliver(a alert.Alert) {
	body, err := json.Marshal(a)
	if err != nil {
		return
	}
	for _, h := range o.hooks {
		select {
		case h.queue <- body:
		default:
			o.deadLetter(h, body, "queue full")
		}
	}
	if o.file != nil {
		o.fileMu.Lock()
		_, err := o.file.Write(append(body, '\n'))
		o.fileMu.Unlock()
		if err != nil {
			o.m.deliveryFailures.WithLabelValues("json-file").Inc()
		} else {
			o.m.deliveries.WithLabelValues("json-file").Inc()
		}
	}
}

func (o *outputs) runHook(h *webhook) {
	for {
		select {
		case body := <-h.queue:
			o.send(h, body)
		case <-h.stop:
			// Drain what is queued, without retries, so that a stop does
			// not lose alerts: what fails goes to the dead-letter file.
			for {
				select {
				case body := <-h.queue:
					if err := h.post(body); err != nil {
						o.deadLetter(h, body, err.Error())
					} else {
						o.m.deliveries.WithLabelValues(h.name).Inc()
					}
				default:
					return
				}
			}
		}
	}
}

func (o *outputs) send(h *webhook, body []byte) {
	backoff := h.cfg.Backoff
	for try := 0; ; try++ {
		err := h.post(body)
		if err == nil {
			o.m.deliveries.WithLabelValues(h.name).Inc()
			return
		}
		o.m.deliveryFailures.WithLabelValues(h.name).Inc()
		if try >= h.cfg.Retries {
			o.deadLetter(h, body, err.Error())
			return
		}
		select {
		case <-time.After(backoff):
		case <-h.stop:
			o.deadLetter(h, body, "stopped: "+err.Error())
			return
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// Sign returns the value of SignatureHeader for body.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (h *webhook) post(body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vigil")
	req.Header.Set(SignatureHeader, Sign(h.secret, body))
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func (o *outputs) deadLetter(h *webhook, body []byte, reason string) {
	o.m.deadLetters.WithLabelValues(h.name).Inc()
	line, _ := json.Marshal(struct {
		Time   time.Time       `json:"time"`
		Reason string          `json:"reason"`
		Alert  json.RawMessage `json:"alert"`
	}{time.Now().UTC(), strings.TrimSpace(reason), body})
	f, err := os.OpenFile(h.dead, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		o.logger.Error("dead-letter file", "output", h.name, "err", err)
		return
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		o.logger.Error("dead-letter file", "output", h.name, "err", err)
	}
}

func (o *outputs) close() {
	if o == nil {
		return
	}
	for _, h := range o.hooks {
		close(h.stop)
	}
	o.wg.Wait()
	if o.file != nil {
		o.file.Close()
	}
}
