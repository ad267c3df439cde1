package units

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "0s", want: 0},
		{in: "90s", want: 90 * time.Second},
		{in: "15m", want: 15 * time.Minute},
		{in: "4h", want: 4 * time.Hour},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "30d", want: 30 * Day},
		{in: "1.5h", want: 90 * time.Minute},
		{in: "500ms", want: 500 * time.Millisecond},
		{in: "", err: "empty duration"},
		{in: "15", err: "without a unit"},
		{in: "15x", err: "unknown unit"},
		{in: "-5m", err: "not a duration"},
		{in: "1..5h", err: "not a number"},
		{in: "15min", err: "not a duration"},
		{in: "5 minutes", err: "has spaces"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "0s",
		90 * time.Minute:        "1h30m",
		30 * Day:                "30d",
		45 * time.Second:        "45s",
		1500 * time.Millisecond: "1s500ms",
		2*Day + 3*time.Hour:     "2d3h",
		time.Microsecond:        "1µs",
		-2 * time.Minute:        "-2m",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if d > 0 && d >= time.Millisecond {
			back, err := ParseDuration(FormatDuration(d))
			if err != nil || back != d {
				t.Errorf("round trip of %v: %v, %v", d, back, err)
			}
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{
		"500GiB": 500 << 30,
		"2TB":    2e12,
		"1.5KiB": 1536,
		"64GiB":  64 << 30,
		"0B":     0,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "12", "5 XB", "GiB", "1GiB2", "1e400PiB"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) succeeded; want an error", in)
		}
	}
	if got := Size(1536 << 20).String(); got != "1.5 GiB" {
		t.Errorf("String = %q", got)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{
		"100Mbps": 100e6,
		"1Gbps":   1e9,
		"20GiB/h": 20 * (1 << 30) * 8 / 3600.0,
		"50MB/s":  400e6,
	} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "100", "100MBps", "20GiB/y", "x/h", "1Gbpsx"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) succeeded; want an error", in)
		}
	}
	if got := Rate(5e8).String(); got != "500 Mbps" {
		t.Errorf("String = %q", got)
	}
}
