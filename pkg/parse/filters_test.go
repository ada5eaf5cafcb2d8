package parse

import (
	"strings"
	"testing"
	"time"
)

func TestParseFilters(t *testing.T) {
	f, err := ParseFilters([]string{"dangling=true", "Label=a=b", "label=c", "label!=d"}, "dangling", "label", "label!")
	if err != nil {
		t.Fatal(err)
	}
	if v, set, err := f.Bool("dangling"); !v || !set || err != nil {
		t.Fatalf("dangling: %v %v %v", v, set, err)
	}
	if !f.MatchLabels("label", map[string]string{"a": "b", "c": ""}) {
		t.Fatal("labels a=b,c should match")
	}
	if f.MatchLabels("label", map[string]string{"a": "x", "c": ""}) || f.MatchLabels("label", map[string]string{"a": "b", "c": "", "d": "1"}) {
		t.Fatal("wrong value or an unwanted label matched")
	}
	if _, err := ParseFilters([]string{"nokey"}); err == nil || !strings.Contains(err.Error(), "expected name=value") {
		t.Fatalf("got %v", err)
	}
	if _, err := ParseFilters([]string{"color=red"}, "dangling", "label"); err == nil || !strings.Contains(err.Error(), `invalid filter "color"`) {
		t.Fatalf("got %v", err)
	}
	f, _ = ParseFilters([]string{"dangling=maybe"})
	if _, _, err := f.Bool("dangling"); err == nil {
		t.Fatal("dangling=maybe accepted")
	}
}

func TestParseTimestamp(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Time{
		"10m":                  now.Add(-10 * time.Minute),
		"1700000000":           time.Unix(1700000000, 0),
		"1700000000.5":         time.Unix(1700000000, 500000000),
		"2024-01-02T03:04:05Z": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"2024-01-02":           time.Date(2024, 1, 2, 0, 0, 0, 0, time.Local),
		"now":                  now,
		"0s":                   now,
	}
	for in, want := range cases {
		got, err := ParseTimestamp(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: got %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "12:00", "1.2.3"} {
		if _, err := ParseTimestamp(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseFilters(f *testing.F) {
	for _, s := range []string{"dangling=true", "label=a=b", "until=10m", "=x", "reference=alpine:*", "before"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fl, err := ParseFilters([]string{s}, "dangling", "label", "until", "reference")
		if err != nil {
			return
		}
		if len(fl) != 1 {
			t.Fatalf("one filter gave %d keys", len(fl))
		}
		for k, vs := range fl {
			if k != strings.ToLower(k) || len(vs) != 1 {
				t.Fatalf("bad parse %q: %v", s, fl)
			}
		}
		fl.Bool("dangling")
		fl.MatchLabels("label", map[string]string{"a": "b"})
		if fl.Has("until") {
			ParseTimestamp(fl["until"][0], time.Now())
		}
	})
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"10m", "1h30m", "-5s", "now", "1700000000", "1700000000.123456789", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.5+02:00", "2024-01-02", "1.2.3", "9999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTimestamp(s, now)
		if err != nil {
			if !strings.Contains(err.Error(), "timestamp") {
				t.Fatalf("error does not say what is wrong: %v", err)
			}
			return
		}
		if d, derr := time.ParseDuration(s); derr == nil && !got.Equal(now.Add(-d)) {
			t.Fatalf("%q: a duration counts back from now, got %v", s, got)
		}
	})
}
