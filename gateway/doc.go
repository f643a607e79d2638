// Package gateway wires the daemon together: configuration, drivers, the
// scheduler, the alarm engine, the durable buffer and the MQTT uplink.
//
// The pipeline, built back to front and stopped front to back:
//
//	drivers ──Poll──▶ schedule ──Result──▶ handle ──▶ alarm engine ──events──┐
//	(sim, ups, snmp,      (one goroutine         │                          │
//	 selfmon...)           per device)           ▼                          ▼
//	                                    latest state (web, poll)   buffer.Append (group commit, fsync)
//	                                                                        │
//	provider ◀── QoS 1, PUBACK ── uplink ◀── Next / Ack / Rewind ───────────┘
//
// Every sample and event is in the buffer before anything is published; the
// uplink deletes a record only after the broker acknowledged it on the
// connection that sent it. Cancelling Run's context stops the scheduler and
// watchers first, lets the uplink drain for a moment, then closes the
// uplink (retained status "offline"), the buffer and the drivers.
package gateway
