package fleetwatch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Alert is one element of Alertmanager's POST /api/v2/alerts body
// (postableAlert). Times are RFC 3339; an empty EndsAt means "firing until
// told otherwise", an EndsAt in the past resolves the alert.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// The alert names the watcher raises.
const (
	AlertOffline  = "PraxisgateBoxOffline"
	AlertSeqGap   = "PraxisgateSeqGap"
	AlertClock    = "PraxisgateClockUnsynced"
	AlertRebooted = "PraxisgateBoxRebooted"
	AlertSLA      = "PraxisgateAlarmOverSLA"
)

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// poster sends alert batches to the webhook.
type poster struct {
	url    string
	client *http.Client
}

func (p poster) post(ctx context.Context, alerts []Alert) error {
	body, err := json.Marshal(alerts)
	if err != nil {
		return fmt.Errorf("encode alerts: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("post alerts: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("post alerts: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post alerts: webhook answered %s", resp.Status)
	}
	return nil
}
