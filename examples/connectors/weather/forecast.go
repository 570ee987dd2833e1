package weather

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	minDays       = 1
	maxDays       = 7
	maxCityLength = 100
)

var conditions = [...]string{"sunny", "partly cloudy", "cloudy", "light rain", "heavy rain", "thunderstorms", "fog", "snow", "windy"}

type forecastIn struct {
	City string `json:"city" jsonschema:"city name, for example Lisbon"`
	Days int    `json:"days" jsonschema:"number of days to forecast, 1 to 7"`
}

// Day is one day of a forecast. Temperatures are in degrees Celsius.
type Day struct {
	Day                 int     `json:"day" jsonschema:"1 for today, 2 for tomorrow, and so on"`
	Condition           string  `json:"condition"`
	HighC               float64 `json:"high_c"`
	LowC                float64 `json:"low_c"`
	PrecipitationChance int     `json:"precipitation_chance" jsonschema:"percent"`
}

// Forecast is get_forecast's result.
type Forecast struct {
	City string `json:"city"`
	Days []Day  `json:"days"`
}

func addForecastTool(srv *mcp.Server) {
	// jsonschema tags only carry descriptions, so the 1-7 range is added to the inferred schema
	// by hand: clients then see it, and go-sdk rejects out-of-range input before the handler.
	schema, err := jsonschema.For[forecastIn](nil)
	if err != nil {
		panic(fmt.Sprintf("weather: get_forecast schema: %v", err)) // a programming error, caught by every test
	}
	schema.Properties["days"].Minimum = jsonschema.Ptr(float64(minDays))
	schema.Properties["days"].Maximum = jsonschema.Ptr(float64(maxDays))

	mcp.AddTool(srv, &mcp.Tool{
		Name:        "get_forecast",
		Description: "Fake but deterministic daily forecast for a city (no network access).",
		InputSchema: schema,
	}, func(_ context.Context, _ *mcp.CallToolRequest, in forecastIn) (*mcp.CallToolResult, Forecast, error) {
		f, err := forecast(in.City, in.Days)
		return nil, f, err
	})
}

// forecast derives each day from a hash of the normalised city name and the day number, so the
// same question always gets the same answer and tests can compare results across calls.
func forecast(city string, days int) (Forecast, error) {
	city = strings.TrimSpace(city)
	switch {
	case city == "":
		return Forecast{}, errors.New("city must not be empty")
	case utf8.RuneCountInString(city) > maxCityLength:
		return Forecast{}, fmt.Errorf("city is longer than %d characters", maxCityLength)
	case days < minDays || days > maxDays:
		return Forecast{}, fmt.Errorf("days must be between %d and %d, got %d", minDays, maxDays, days)
	}
	key := strings.ToLower(city)
	f := Forecast{City: city, Days: make([]Day, 0, days)}
	for d := 1; d <= days; d++ {
		h := fnv.New64a()
		h.Write([]byte(key + "\x00" + strconv.Itoa(d)))
		v := h.Sum64()
		high := -10 + float64(v%46)        // -10..35 °C
		low := high - float64(3+(v>>8)%10) // 3..12 °C cooler
		f.Days = append(f.Days, Day{
			Day:                 d,
			Condition:           conditions[(v>>16)%uint64(len(conditions))],
			HighC:               high,
			LowC:                low,
			PrecipitationChance: int((v >> 24) % 101),
		})
	}
	return f, nil
}
