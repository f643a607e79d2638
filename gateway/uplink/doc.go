// Package uplink carries the buffer's records to the provider's MQTT broker
// and is the gateway's only network client of the broker.
//
// It publishes QoS 1 with many messages in flight, deletes a record from
// the buffer only after the broker's PUBACK, keeps a retained status with a
// Last Will, re-publishes retained state topics and re-subscribes after
// every reconnect, and reconnects with exponential backoff and full jitter.
// docs/mqtt.md is the contract the provider sees.
//
// # Why a connection per generation, and why the accounting is correct
//
// paho.mqtt.golang's own reconnect makes QoS 1 accounting unreliable: with
// AutoReconnect a publish token may complete without error when the
// connection drops (paho issues #563 and #555), and an "acknowledged"
// record would be deleted without ever reaching the broker. So the uplink
// runs paho with AutoReconnect(false), ConnectRetry(false) and
// CleanSession(true), and creates a fresh paho client for every connection
// attempt. Each connection has a generation number; records published on
// one are acknowledged to the buffer only by that generation's acker.
//
// In paho v1.5.1 (client.go, messageids.go, net.go) a QoS 1 publish token
// completes in exactly these ways:
//   - PUBACK for its message id arrives: flowComplete() without error
//     (net.go startIncomingComms). This is the only error-free completion,
//     because claimID's error-free completion of a displaced token cannot
//     happen (getID hands out only ids not in the index) and resume() runs
//     only without CleanSession.
//   - the client is not connected: ErrNotConnected at once;
//   - the outbound queue did not take it within WriteTimeout: "publish was
//     broken by timeout";
//   - the connection is lost: internalConnLost stops the workers and, since
//     CleanSession is set and auto-reconnect is off, messageIds.cleanUp()
//     sets "connection lost before Publish completed" on every outstanding
//     token before OnConnectionLost is called;
//   - Disconnect(): disconnect() runs the same cleanUp.
//
// So a token that completes without error proves a PUBACK on the
// connection that sent it. The acker additionally refuses to acknowledge
// anything once its generation is marked lost (by OnConnectionLost or by
// any failed token), and the whole generation is abandoned: the sender
// stops, remaining tokens are waited for only up to WriteTimeout (never
// acknowledged), and only then is the buffer rewound and a new client
// connected. The worst case is a record that did reach the broker being
// sent again, which the contract allows (at-least-once, de-duplicate on
// seq); a record is never deleted without a PUBACK.
package uplink
