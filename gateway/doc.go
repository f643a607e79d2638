// Package gateway is the daemon's pipeline core: drivers, the scheduler,
// the alarm engine, the durable buffer and the MQTT uplink, with the live
// config and the running devices. The features around it (commands, web
// backend, self-update, NUT server, fridge history, support bundle,
// watchdog) are packages of their own that use its small API (Config,
// Latest, Devices, Alarms, Stats, Now, PollNow, AckAlarm, AckAlarmComment,
// ColdChain, Emit, Apply, OnSample, Uplink) through interfaces they declare; cmd/praxisgate wires
// them (docs/architecture.md).
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
