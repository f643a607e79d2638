package web

import (
	"testing"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/gateway/alarm"
)

func TestAlarmTexts(t *testing.T) {
	val, limit, low := 5.0625, 4.5, 2.0
	since := t0web.Add(-90 * time.Second)
	cases := []struct {
		name   string
		a      alarm.Alarm
		de, en string
	}{
		{"too warm", alarm.Alarm{Kind: alarm.KindThresholdHigh, Metric: "temperature", Value: &val, Limit: &limit, Unit: "°C", For: time.Second,
			Message: "kuehlschrank temperature is 5.06 °C, above the limit of 4.5 °C for 1s"},
			"Temperatur 5,06 °C über dem Grenzwert 4,5 °C (seit 1 Min. 30 s)", "temperature 5.06 °C above the limit of 4.5 °C (for 1 min 30 s)"},
		{"too cold", alarm.Alarm{Kind: alarm.KindThresholdLow, Metric: "temperature", Value: &low, Limit: &limit, Unit: "°C"},
			"Temperatur 2 °C unter dem Grenzwert 4,5 °C (seit 1 Min. 30 s)", "temperature 2 °C below the limit of 4.5 °C (for 1 min 30 s)"},
		{"no value, unknown metric, no unit", alarm.Alarm{Kind: alarm.KindThresholdHigh, Metric: "queue.depth", Limit: &limit},
			"queue.depth über dem Grenzwert 4,5 (seit 1 Min. 30 s)", "queue.depth above the limit of 4.5 (for 1 min 30 s)"},
		{"sensor offline", alarm.Alarm{Kind: alarm.KindStale, Metric: "temperature", For: 5 * time.Minute},
			"Temperatur: keine Messwerte seit 1 Min. 30 s (Sensor offline?)", "temperature: no readings for 1 min 30 s (sensor offline?)"},
		{"unreachable", alarm.Alarm{Kind: alarm.KindUnreachable, Message: "printer does not answer (3 polls failed)"},
			"nicht erreichbar (seit 1 Min. 30 s)", "does not answer (for 1 min 30 s)"},
		{"UPS on battery", alarm.Alarm{Kind: alarm.KindCondition, CondName: "ups.on_battery", Message: "UPS is running on battery (mains failure)"},
			"USV läuft auf Batterie (Stromausfall)", "UPS is on battery (mains failure)"},
		{"unknown condition keeps the driver's words", alarm.Alarm{Kind: alarm.KindCondition, CondName: "storage.vol1.full", Message: "Volume vol1 is full (99 %)"},
			"Volume vol1 is full (99 %)", "Volume vol1 is full (99 %)"},
		{"alarm of an older version", alarm.Alarm{Message: "kuehlschrank temperature is 9 °C, above the limit of 8 °C"},
			"kuehlschrank temperature is 9 °C, above the limit of 8 °C", "kuehlschrank temperature is 9 °C, above the limit of 8 °C"},
		{"threshold without limit", alarm.Alarm{Kind: alarm.KindThresholdHigh, Message: "raw"}, "raw", "raw"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.a.Since = since
			if got := alarmText(langDE, c.a, t0web); got != c.de {
				t.Errorf("de: %q\nwant %q", got, c.de)
			}
			if got := alarmText(langEN, c.a, t0web); got != c.en {
				t.Errorf("en: %q\nwant %q", got, c.en)
			}
		})
	}
}

func TestAlarmViewsUseDeviceNames(t *testing.T) {
	as := []alarm.Alarm{{Device: "kuehlschrank", Severity: drivers.Critical, Message: "m"}, {Device: "usv", Message: "n"}}
	names := deviceNames([]Device{{ID: "kuehlschrank", Name: "Impfstoff-Kühlschrank"}, {ID: "usv"}})
	vs := alarmViews(langDE, as, names, t0web)
	if vs[0].Name != "Impfstoff-Kühlschrank" || vs[1].Name != "usv" || vs[0].Text != "m" {
		t.Fatalf("%+v", vs)
	}
}

func TestKindLabels(t *testing.T) {
	for _, c := range []struct{ kind, de, en string }{
		{"fridge", "Kühlschrank", "fridge"}, {"ups", "USV", "UPS"}, {"labor-geraet", "labor-geraet", "labor-geraet"},
	} {
		if got := kindLabel(langDE, c.kind); got != c.de {
			t.Errorf("de %s: %q", c.kind, got)
		}
		if got := kindLabel(langEN, c.kind); got != c.en {
			t.Errorf("en %s: %q", c.kind, got)
		}
	}
}
