package onewire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

// Why a reading is refused; tests and the driver tell them apart.
var (
	// errCRC means the scratchpad failed its checksum: noise on a long
	// cable or a loose contact. The next read usually succeeds.
	errCRC = errors.New("scratchpad CRC mismatch")
	// errPowerOn means the probe reported 85 °C, the value its
	// temperature register holds after power-on before any conversion
	// finished (DS18B20 datasheet); it follows a brown-out or a bad
	// parasite-power supply and is never a real fridge or room reading.
	errPowerOn = errors.New("85 °C power-on reset value")
	// errNoProbe means the scratchpad is all zeros with a valid CRC, what
	// the bus reads when the data line is held low (shorted probe).
	errNoProbe = errors.New("all-zero scratchpad (data line held low)")
)

// reading is one parsed w1_slave file.
type reading struct {
	scratchpad [9]byte
	milliC     int
}

// crc8 is the Dallas/Maxim 1-Wire CRC (polynomial x^8+x^5+x^4+1, reflected
// 0x8C) over the first eight scratchpad bytes. The kernel checks it too; we
// recheck because the verdict text is the only thing tying the two lines
// together, and a driver bug or a truncated read must not pass silently.
func crc8(b []byte) byte {
	var crc byte
	for _, v := range b {
		for i := 0; i < 8; i++ {
			mix := (crc ^ v) & 1
			crc >>= 1
			if mix != 0 {
				crc ^= 0x8C
			}
			v >>= 1
		}
	}
	return crc
}

// parseW1Slave parses the kernel's w1_therm output, two lines like
//
//	72 01 4b 46 7f ff 0e 10 57 : crc=57 YES
//	72 01 4b 46 7f ff 0e 10 57 t=23125
//
// and returns the temperature in milli-degrees Celsius, or why the reading
// must not be used.
func parseW1Slave(data []byte) (reading, error) {
	var r reading
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) != 2 {
		return r, fmt.Errorf("want 2 lines, got %d", len(lines))
	}
	head, verdict, ok := bytes.Cut(lines[0], []byte(" : crc="))
	if !ok {
		return r, fmt.Errorf("first line %q lacks \" : crc=\"", lines[0])
	}
	sp, err := hexBytes(head)
	if err != nil {
		return r, fmt.Errorf("first line: %w", err)
	}
	copy(r.scratchpad[:], sp)
	fields := bytes.Fields(verdict)
	if len(fields) != 2 {
		return r, fmt.Errorf("crc verdict %q: want \"xx YES\" or \"xx NO\"", verdict)
	}
	switch string(fields[1]) {
	case "YES":
	case "NO":
		return r, errCRC
	default:
		return r, fmt.Errorf("crc verdict %q: want YES or NO", fields[1])
	}
	if crc8(r.scratchpad[:8]) != r.scratchpad[8] {
		return r, fmt.Errorf("kernel said YES but %w", errCRC)
	}
	head2, t, ok := bytes.Cut(lines[1], []byte(" t="))
	if !ok {
		return r, fmt.Errorf("second line %q lacks \" t=\"", lines[1])
	}
	sp2, err := hexBytes(head2)
	if err != nil {
		return r, fmt.Errorf("second line: %w", err)
	}
	if !bytes.Equal(sp2, r.scratchpad[:]) {
		return r, fmt.Errorf("the two lines show different scratchpads")
	}
	r.milliC, err = strconv.Atoi(string(t))
	if err != nil {
		return r, fmt.Errorf("temperature %q: %w", t, err)
	}
	if r.scratchpad == [9]byte{} {
		return r, errNoProbe
	}
	if r.milliC == 85000 {
		return r, errPowerOn
	}
	// The DS18B20 measures -55..+125 °C; anything outside is garbage.
	if r.milliC < -55000 || r.milliC > 125000 {
		return r, fmt.Errorf("temperature %d m°C outside the sensor's range", r.milliC)
	}
	return r, nil
}

// hexBytes parses nine space-separated hex bytes.
func hexBytes(b []byte) ([]byte, error) {
	f := bytes.Fields(b)
	if len(f) != 9 {
		return nil, fmt.Errorf("want 9 scratchpad bytes, got %d", len(f))
	}
	out := make([]byte, 9)
	for i, x := range f {
		if len(x) != 2 {
			return nil, fmt.Errorf("scratchpad byte %q", x)
		}
		if _, err := hex.Decode(out[i:i+1], x); err != nil {
			return nil, fmt.Errorf("scratchpad byte %q: %w", x, err)
		}
	}
	return out, nil
}
