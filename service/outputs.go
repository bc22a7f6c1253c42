package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-ids/vigil/alert"
	"github.com/vigil-ids/vigil/output"
)

// outputs fan alerts out to the configured webhooks, syslog collectors
// and JSON-lines file, in configuration order.
type outputs struct {
	list  []*output.Output
	drain time.Duration
}

// newOutputs builds every configured output. Alerts whose delivery
// outlasts the retries are appended to data-dir/deadletter-<name>.jsonl.
func newOutputs(cfg Outputs, dataDir, version string, deps output.Deps) (*outputs, error) {
	o := &outputs{drain: cfg.DrainTimeout}
	if o.drain <= 0 {
		o.drain = DefaultConfig().Outputs.DrainTimeout
	}
	retry := func(name string, retries, queue int, backoff time.Duration) output.Retry {
		r := output.DefaultRetry()
		r.MaxAttempts = retries + 1
		if queue > 0 {
			r.QueueSize = queue
		}
		if backoff > 0 {
			r.Backoff = backoff
		}
		r.DeadLetter = filepath.Join(dataDir, "deadletter-"+name+".jsonl")
		return r
	}
	add := func(out *output.Output, err error) error {
		if err != nil {
			return err
		}
		o.list = append(o.list, out)
		return nil
	}
	for i, wc := range cfg.Webhooks {
		name := outputName(wc.Name, "webhook", i)
		secret := wc.Secret
		if wc.SecretFile != "" {
			b, err := os.ReadFile(wc.SecretFile)
			if err != nil {
				return o.fail(fmt.Errorf("webhook %s: %w", name, err))
			}
			secret = string(bytes.TrimSpace(b))
		}
		err := add(output.NewWebhook(output.WebhookConfig{
			Name: name, URL: wc.URL, Secret: secret, Format: wc.Format, Timeout: wc.Timeout,
			Retry: retry(name, wc.Retries, wc.QueueSize, wc.Backoff), Version: version,
		}, deps))
		if err != nil {
			return o.fail(fmt.Errorf("webhook %s: %w", name, err))
		}
	}
	for i, sc := range cfg.Syslog {
		name := outputName(sc.Name, "syslog", i)
		facility := 10
		if sc.Facility != nil {
			facility = *sc.Facility
		}
		err := add(output.NewSyslog(output.SyslogConfig{
			Name: name, Network: sc.Network, Address: sc.Address, Format: sc.Format, Facility: facility,
			Hostname: sc.Hostname, AppName: sc.AppName, CAFile: sc.CAFile, CertFile: sc.CertFile, KeyFile: sc.KeyFile,
			ServerName: sc.ServerName, Timeout: sc.Timeout,
			Retry: retry(name, sc.Retries, sc.QueueSize, sc.Backoff), Version: version,
		}, deps))
		if err != nil {
			return o.fail(fmt.Errorf("syslog %s: %w", name, err))
		}
	}
	if cfg.JSONFile != "" {
		r := retry(jsonFileName, 0, 0, 0)
		r.MaxAttempts = output.DefaultRetry().MaxAttempts
		err := add(output.NewFile(output.FileConfig{Name: jsonFileName, Path: cfg.JSONFile, Format: cfg.JSONFileFormat,
			Retry: r, Version: version}, deps))
		if err != nil {
			return o.fail(fmt.Errorf("json-file: %w", err))
		}
	}
	return o, nil
}

// fail closes the outputs built so far and returns err.
func (o *outputs) fail(err error) (*outputs, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, out := range o.list {
		out.Close(ctx)
	}
	return nil, err
}

// deliver queues an alert for every output; it never blocks on a slow
// receiver: a full queue drops the alert and counts it.
func (o *outputs) deliver(a alert.Alert) {
	for _, out := range o.list {
		out.Enqueue(a)
	}
}

// close drains the outputs in order within the drain timeout; what is
// still queued then goes to the dead-letter files.
func (o *outputs) close() error {
	if o == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.drain)
	defer cancel()
	var errs []error
	for _, out := range o.list {
		if err := out.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("output %s: %w", out.Name(), err))
		}
	}
	return errors.Join(errs...)
}
