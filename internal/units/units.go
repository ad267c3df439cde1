package units

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Day is the length of the "d" duration unit.
const Day = 24 * time.Hour

var durationUnits = map[string]time.Duration{
	"ms": time.Millisecond,
	"s":  time.Second,
	"m":  time.Minute,
	"h":  time.Hour,
	"d":  Day,
}

// ParseDuration parses a duration such as "0s", "90s", "15m", "1h30m",
// "1.5h" or "30d". Units are ms, s, m, h and d; every number needs a unit
// and negative durations are not allowed.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration; write a number with a unit, such as \"90s\", \"15m\" or \"1h30m\"")
	}
	if strings.ContainsAny(s, " \t") {
		return 0, fmt.Errorf("%q has spaces; write each number with its unit right after it, such as \"5m\" or \"1h30m\" (units ms, s, m, h, d)", s)
	}
	rest := s
	var total float64
	for rest != "" {
		num, unit, tail := splitNumber(rest)
		if num == "" {
			return 0, fmt.Errorf("%q is not a duration; write a number with a unit (ms, s, m, h, d), such as \"90s\", \"15m\" or \"1h30m\"", s)
		}
		// Take the longest unit name that matches ("ms" before "m").
		var mult time.Duration
		switch {
		case strings.HasPrefix(unit, "ms"):
			mult, tail = time.Millisecond, unit[2:]+tail
		case unit != "" && durationUnits[unit[:1]] != 0:
			mult, tail = durationUnits[unit[:1]], unit[1:]+tail
		default:
			if unit == "" {
				return 0, fmt.Errorf("%q has a number without a unit; add one of ms, s, m, h or d, such as %q", s, num+"s")
			}
			return 0, fmt.Errorf("%q has the unknown unit %q; use ms, s, m, h or d", s, unit)
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: %q is not a number", s, num)
		}
		total += f * float64(mult)
		rest = tail
	}
	if total > math.MaxInt64 {
		return 0, fmt.Errorf("%q is too long a duration", s)
	}
	return time.Duration(total), nil
}

// splitNumber splits s into a leading decimal number, the letters that
// follow it, and the rest.
func splitNumber(s string) (num, unit, rest string) {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	j := i
	for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
		j++
	}
	return s[:i], s[i:j], s[j:]
}

// FormatDuration renders d in the plan language's style: "1h30m", "45s",
// "2d3h", "500ms".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	for _, u := range []struct {
		name string
		size time.Duration
	}{{"d", Day}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.size; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.size
		}
	}
	if b.Len() == 0 || b.Len() == 1 {
		// Below a millisecond: Go's notation says it best.
		return d.String()
	}
	return b.String()
}

// Size is an amount of storage or memory in bytes.
type Size int64

var sizeUnits = map[string]float64{
	"B":   1,
	"KB":  1e3,
	"MB":  1e6,
	"GB":  1e9,
	"TB":  1e12,
	"PB":  1e15,
	"KiB": 1 << 10,
	"MiB": 1 << 20,
	"GiB": 1 << 30,
	"TiB": 1 << 40,
	"PiB": 1 << 50,
}

// ParseSize parses a size such as "500GiB", "2TB" or "512MB". Decimal
// (KB, MB, GB, TB, PB) and binary (KiB … PiB) units are accepted.
func ParseSize(s string) (Size, error) {
	f, err := parseSizeFloat(s)
	if err != nil {
		return 0, err
	}
	return Size(f), nil
}

func parseSizeFloat(s string) (float64, error) {
	num, unit, rest := splitNumber(strings.TrimSpace(s))
	if num == "" || rest != "" {
		return 0, fmt.Errorf("%q is not a size; write a number with a unit, such as \"500GiB\" or \"2TB\"", s)
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		if unit == "" {
			return 0, fmt.Errorf("%q has no unit; add one of B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB or PiB, such as %q", s, num+"GiB")
		}
		return 0, fmt.Errorf("%q has the unknown size unit %q; use B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB or PiB", s, unit)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: %q is not a number", s, num)
	}
	if v := f * mult; v < math.MaxInt64 {
		return v, nil
	}
	return 0, fmt.Errorf("%q is too large a size", s)
}

// String renders the size with the largest binary unit that keeps it at
// least 1, such as "1.5 GiB".
func (s Size) String() string {
	v := float64(s)
	for _, u := range []string{"PiB", "TiB", "GiB", "MiB", "KiB"} {
		if m := sizeUnits[u]; v >= m {
			return trimFloat(v/m) + " " + u
		}
	}
	return fmt.Sprintf("%d B", int64(s))
}

// Rate is a data rate in bits per second.
type Rate float64

var bitRateUnits = map[string]float64{
	"bps":  1,
	"Kbps": 1e3,
	"Mbps": 1e6,
	"Gbps": 1e9,
	"Tbps": 1e12,
}

var perUnits = map[string]float64{
	"s": 1,
	"m": 60,
	"h": 3600,
	"d": 86400,
}

// ParseRate parses a rate given either as bits per second ("100Mbps",
// "1Gbps") or as a size per unit of time ("20GiB/h", "50MB/s").
func ParseRate(s string) (Rate, error) {
	if sizePart, per, ok := strings.Cut(s, "/"); ok {
		secs, ok := perUnits[per]
		if !ok {
			return 0, fmt.Errorf("%q has the unknown time unit %q after the slash; use /s, /m, /h or /d, such as \"20GiB/h\"", s, per)
		}
		bytes, err := parseSizeFloat(sizePart)
		if err != nil {
			return 0, fmt.Errorf("%q is not a rate: %v", s, err)
		}
		return Rate(bytes * 8 / secs), nil
	}
	num, unit, rest := splitNumber(strings.TrimSpace(s))
	mult, ok := bitRateUnits[unit]
	if num == "" || rest != "" || !ok {
		return 0, fmt.Errorf("%q is not a rate; write bits per second such as \"100Mbps\" or \"1Gbps\", or a size per time such as \"20GiB/h\"", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a rate: %q is not a number", s, num)
	}
	return Rate(f * mult), nil
}

// BytesPerSecond is the rate in bytes per second.
func (r Rate) BytesPerSecond() float64 { return float64(r) / 8 }

// String renders the rate in bits per second with a decimal unit, such as
// "500 Mbps".
func (r Rate) String() string {
	v := float64(r)
	for _, u := range []string{"Tbps", "Gbps", "Mbps", "Kbps"} {
		if m := bitRateUnits[u]; v >= m {
			return trimFloat(v/m) + " " + u
		}
	}
	return trimFloat(v) + " bps"
}

func trimFloat(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}
