package state

import (
	"encoding/json"
	"fmt"
)

// mustJSON encodes values that cannot fail to encode (slices and maps of strings).
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("state: encode %T: %v", v, err))
	}
	return string(b)
}

func unmarshalJSON(s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode stored %T: %w", v, err)
	}
	return nil
}
