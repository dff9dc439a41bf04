package documents

import (
	"errors"
	"fmt"
)

// Type is a kind of identity document a subject can upload: a passport, an ID
// card, a utility bill. The same definition feeds the wizard's "types"
// objects (by ID) and the verification status API's document requirement data (by Name and Sides).
type Type struct {
	// ID identifies the type on the wire (the wizard's documents.type).
	ID int `json:"id"`
	// Name is the machine name used in requirement data and answers, e.g. "passport".
	Name string `json:"name"`
	// Description is the human label, e.g. "Passport".
	Description string `json:"description"`
	// Enabled types can be uploaded; disabled ones are kept for history only.
	Enabled bool `json:"enabled"`
	// Example is an optional URL or text showing a good upload.
	Example string `json:"example"`
	// Group is free-form grouping metadata echoed to clients (the wizard's example shows {}).
	Group map[string]string `json:"group"`
	// Sides names the files one document of this type needs, e.g. ["front", "back"].
	Sides []string `json:"sides"`
}

// Validate reports the first problem with t, naming the field.
func (t Type) Validate() error {
	switch {
	case t.ID <= 0:
		return fmt.Errorf("documents: type %q: id must be a positive integer", t.Name)
	case t.Name == "":
		return fmt.Errorf("documents: type %d: name is required", t.ID)
	case len(t.Sides) == 0:
		return fmt.Errorf("documents: type %q: sides must list at least one side", t.Name)
	}
	seen := make(map[string]bool, len(t.Sides))
	for _, s := range t.Sides {
		if s == "" {
			return fmt.Errorf("documents: type %q: sides: empty side name", t.Name)
		}
		if seen[s] {
			return fmt.Errorf("documents: type %q: sides: duplicate side %q", t.Name, s)
		}
		seen[s] = true
	}
	return nil
}

// HasSide reports whether side is one of t's sides.
func (t Type) HasSide(side string) bool {
	for _, s := range t.Sides {
		if s == side {
			return true
		}
	}
	return false
}

// ErrUnknownType is returned when a document type id or name is not configured.
var ErrUnknownType = errors.New("documents: unknown document type")
