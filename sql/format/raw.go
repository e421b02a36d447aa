package format

import (
	"fmt"

	"github.com/weirstream/weir/sql/types"
)

// Raw is the 'raw' format: the whole record is the value of the table's one
// STRING column. It never fails to decode. weir has no BYTES type; a
// record that is not UTF-8 is kept byte for byte in the string.
type Raw struct{}

// Name implements Format.
func (Raw) Name() string { return "raw" }

// Options implements Format.
func (Raw) Options() []string { return nil }

func (f Raw) check(c Config) error {
	if err := checkOptions(f, c); err != nil {
		return err
	}
	if len(c.Schema) != 1 || c.Schema[0].Type.Kind != types.String {
		return fmt.Errorf("format: table %s: format 'raw' needs exactly one STRING column, not %s: declare one column, such as (line STRING)", c.Table, c.Schema)
	}
	return nil
}

// Decoder implements Format.
func (f Raw) Decoder(c Config) (Decoder, error) {
	if err := f.check(c); err != nil {
		return nil, err
	}
	return func(data []byte) (types.Row, error) {
		return types.Row{Values: []types.Value{types.StringValue(string(data))}}, nil
	}, nil
}

// Encoder implements Format. A NULL writes an empty record.
func (f Raw) Encoder(c Config) (Encoder, error) {
	if err := f.check(c); err != nil {
		return nil, err
	}
	return func(dst []byte, row types.Row) []byte {
		if len(row.Values) == 0 {
			return dst
		}
		return append(dst, row.Values[0].Str()...)
	}, nil
}
