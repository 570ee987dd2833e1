package weather

import (
	"reflect"
	"testing"
)

func TestForecastIsDeterministicAndPlausible(t *testing.T) {
	for _, city := range []string{"Lisbon", "Reykjavík", "Ulaanbaatar", "São Paulo", "a"} {
		a, err := forecast(city, 7)
		if err != nil {
			t.Fatalf("%s: %v", city, err)
		}
		b, err := forecast("  "+city+" ", 7)
		if err != nil {
			t.Fatalf("%s: %v", city, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: forecast changed between calls:\n%+v\n%+v", city, a, b)
		}
		for _, d := range a.Days {
			if d.HighC < -10 || d.HighC > 35 || d.LowC > d.HighC-3 || d.LowC < d.HighC-12 ||
				d.PrecipitationChance < 0 || d.PrecipitationChance > 100 || d.Condition == "" {
				t.Errorf("%s day %d is implausible: %+v", city, d.Day, d)
			}
		}
	}
}

func TestForecastIgnoresTheCityNamesCase(t *testing.T) {
	a, _ := forecast("lisbon", 2)
	b, _ := forecast("LISBON", 2)
	if !reflect.DeepEqual(a.Days, b.Days) {
		t.Errorf("lisbon and LISBON differ:\n%+v\n%+v", a.Days, b.Days)
	}
}

func TestConvertRoundTrips(t *testing.T) {
	for _, from := range []string{"C", "F", "K"} {
		for _, to := range []string{"C", "F", "K"} {
			mid, err := convert(300, from, to)
			if err != nil {
				t.Fatalf("300 %s -> %s: %v", from, to, err)
			}
			back, err := convert(mid, to, from)
			if err != nil {
				t.Fatalf("%g %s -> %s: %v", mid, to, from, err)
			}
			if diff := back - 300; diff > 0.02 || diff < -0.02 {
				t.Errorf("300 %s -> %g %s -> %g %s", from, mid, to, back, from)
			}
		}
	}
}
