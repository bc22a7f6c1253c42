package output

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/vigil-ids/vigil/alert"
)

// Webhook headers.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the
	// request body under the shared secret.
	SignatureHeader = "X-Vigil-Signature"
	// TimestampHeader carries the Unix time of the attempt in seconds, so
	// that a receiver can refuse stale deliveries.
	TimestampHeader = "X-Vigil-Timestamp"
	// AlertHeader carries the alert id: a receiver sees the same id again
	// when an incident grows, and on a retried delivery.
	AlertHeader = "X-Vigil-Alert"
)

// WebhookConfig configures a webhook output.
type WebhookConfig struct {
	Name string `yaml:"name"`
	// URL receives a POST per alert.
	URL string `yaml:"url"`
	// Secret keys the HMAC-SHA256 signature; required.
	Secret string `yaml:"secret"`
	// Format is FormatJSON (default) or FormatOCSF.
	Format string `yaml:"format"`
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// Headers are added to every request, such as an Authorization.
	Headers map[string]string `yaml:"headers"`
	Retry   Retry             `yaml:"retry"`
	// Version is Vigil's version, carried in OCSF payloads and the
	// User-Agent.
	Version string `yaml:"-"`
	// Client sends the requests; nil uses a client with Timeout.
	Client *http.Client `yaml:"-"`
}

// Sign returns the signature header value of body under secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header value in constant time.
func Verify(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

type webhook struct {
	cfg    WebhookConfig
	client *http.Client
	now    func() time.Time
}

// NewWebhook returns an output that POSTs each alert as JSON to a URL,
// signed with HMAC-SHA256. Network errors, 408, 429 and 5xx answers are
// retried with backoff; other 4xx answers are permanent failures.
func NewWebhook(cfg WebhookConfig, deps Deps) (*Output, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: webhook url %q", ErrConfig, cfg.URL)
	}
	if cfg.Secret == "" {
		return nil, fmt.Errorf("%w: webhook %q has no secret", ErrConfig, cfg.URL)
	}
	if cfg.Format == "" {
		cfg.Format = FormatJSON
	}
	if cfg.Format != FormatJSON && cfg.Format != FormatOCSF {
		return nil, fmt.Errorf("%w: webhook format %q (json or ocsf)", ErrConfig, cfg.Format)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	w := &webhook{cfg: cfg, client: cfg.Client, now: deps.Now}
	if w.client == nil {
		w.client = &http.Client{Timeout: cfg.Timeout}
	}
	if w.now == nil {
		w.now = time.Now
	}
	return newOutput(cfg.Name, "webhook", cfg.Retry, w, deps)
}

func (w *webhook) deliver(ctx context.Context, a *alert.Alert) error {
	body, err := Encode(a, w.cfg.Format, w.cfg.Version)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	for k, v := range w.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Vigil/"+w.cfg.Version)
	req.Header.Set(SignatureHeader, Sign([]byte(w.cfg.Secret), body))
	req.Header.Set(TimestampHeader, strconv.FormatInt(w.now().Unix(), 10))
	req.Header.Set(AlertHeader, a.ID)
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("webhook: status %d", resp.StatusCode)
	}
	return fmt.Errorf("webhook: status %d: %w", resp.StatusCode, ErrPermanent)
}

func (w *webhook) close() error {
	w.client.CloseIdleConnections()
	return nil
}
