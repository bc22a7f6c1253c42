package network

import "time"

// Advance moves the watermark to t when t is later, as a record starting
// at t would, and closes the hours it passes. A service calls it when its
// input has gone idle, so that the last hours close and their alerts are
// delivered without further traffic; records that arrive afterwards for a
// closed hour count as late.
func (d *Detector) Advance(t time.Time) {
	if t.After(d.watermark) {
		d.watermark = t
		d.closeReady()
	}
}
