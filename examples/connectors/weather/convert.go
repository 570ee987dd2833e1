package weather

import (
	"context"
	"fmt"
	"math"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type convertIn struct {
	Value float64 `json:"value" jsonschema:"temperature to convert"`
	From  string  `json:"from" jsonschema:"unit of value: C, F or K"`
	To    string  `json:"to" jsonschema:"unit to convert to: C, F or K"`
}

// Converted is convert_temperature's result, rounded to two decimals.
type Converted struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

func addConvertTool(srv *mcp.Server) {
	// jsonschema tags only carry descriptions; the unit enum is added by hand so clients see it.
	schema, err := jsonschema.For[convertIn](nil)
	if err != nil {
		panic(fmt.Sprintf("weather: convert_temperature schema: %v", err)) // a programming error, caught by every test
	}
	schema.Properties["from"].Enum = []any{"C", "F", "K"}
	schema.Properties["to"].Enum = []any{"C", "F", "K"}

	mcp.AddTool(srv, &mcp.Tool{
		Name:        "convert_temperature",
		Description: "Convert a temperature between Celsius (C), Fahrenheit (F) and Kelvin (K).",
		InputSchema: schema,
	}, func(_ context.Context, _ *mcp.CallToolRequest, in convertIn) (*mcp.CallToolResult, Converted, error) {
		v, err := convert(in.Value, in.From, in.To)
		if err != nil {
			return nil, Converted{}, err
		}
		return nil, Converted{Value: v, Unit: in.To}, nil
	})
}

// convert goes through Kelvin so every pair of units uses the same two formulas.
func convert(value float64, from, to string) (float64, error) {
	var k float64
	switch from {
	case "C":
		k = value + 273.15
	case "F":
		k = (value-32)*5/9 + 273.15
	case "K":
		k = value
	default:
		return 0, fmt.Errorf("from must be C, F or K, got %q", from)
	}
	if k < 0 {
		return 0, fmt.Errorf("%g %s is below absolute zero", value, from)
	}
	var out float64
	switch to {
	case "C":
		out = k - 273.15
	case "F":
		out = (k-273.15)*9/5 + 32
	case "K":
		out = k
	default:
		return 0, fmt.Errorf("to must be C, F or K, got %q", to)
	}
	return math.Round(out*100) / 100, nil
}
