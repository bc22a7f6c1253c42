package management

import "time"

// Advance moves the watermark to t when t is later, as an event at t
// would, and processes the buffered events it passes. A service calls it
// when its input has gone idle, so that buffered events are judged without
// waiting for newer ones; events that arrive afterwards with an older time
// count as late.
func (d *Detector) Advance(t time.Time) {
	if d.closed {
		return
	}
	if t.After(d.maxTime) {
		d.maxTime = t
	}
	d.drain(d.maxTime.Add(-d.cfg.ReorderWindow))
}
