package main

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// dialCounter is a TCP proxy in front of the broker that counts every
// connection attempt per second: what the broker's accept queue sees,
// whether or not the broker is up.
type dialCounter struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	dials  []time.Time
	t0     time.Time
	refuse time.Time
	conns  map[net.Conn]bool
}

func newDialCounter(target string) (*dialCounter, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fleetsim: proxy: %w", err)
	}
	d := &dialCounter{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go d.accept()
	return d, nil
}

func (d *dialCounter) Addr() string { return d.ln.Addr().String() }

func (d *dialCounter) accept() {
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return
		}
		now := time.Now()
		d.mu.Lock()
		d.dials = append(d.dials, now)
		refusing := now.Before(d.refuse)
		d.mu.Unlock()
		if refusing {
			c.Close()
			continue
		}
		go d.forward(c)
	}
}

func (d *dialCounter) forward(c net.Conn) {
	b, err := net.DialTimeout("tcp", d.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	d.mu.Lock()
	d.conns[c], d.conns[b] = true, true
	d.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(b, c)
	go pipe(c, b)
	<-done
	<-done
	d.mu.Lock()
	delete(d.conns, c)
	delete(d.conns, b)
	d.mu.Unlock()
}

// markOutage starts the per-second count at t.
func (d *dialCounter) markOutage(t time.Time) {
	d.mu.Lock()
	d.t0 = t
	d.mu.Unlock()
}

// cut closes every connection and refuses new ones for a while.
func (d *dialCounter) cut(refuseFor time.Duration) {
	d.mu.Lock()
	d.refuse = time.Now().Add(refuseFor)
	for c := range d.conns {
		c.Close()
	}
	d.mu.Unlock()
}

// perSecond returns attempts per second since markOutage.
func (d *dialCounter) perSecond() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []int
	for _, t := range d.dials {
		if t.Before(d.t0) {
			continue
		}
		s := int(t.Sub(d.t0) / time.Second)
		for len(out) <= s {
			out = append(out, 0)
		}
		out[s]++
	}
	return out
}

func (d *dialCounter) Close() {
	d.ln.Close()
	d.mu.Lock()
	for c := range d.conns {
		c.Close()
	}
	d.mu.Unlock()
}
