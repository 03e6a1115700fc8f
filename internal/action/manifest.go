package action

import (
	"fmt"

	yaml "go.yaml.in/yaml/v3"
)

// Manifest is what the binary needs of a step's action.yml: its inputs (for
// flags, help and plain-string defaults) and outputs, in file order.
type Manifest struct {
	Name        string
	Description string
	Inputs      map[string]ManifestInput
	InputOrder  []string
	Outputs     map[string]ManifestOutput
	OutputOrder []string
}

// ManifestInput is one entry of action.yml's inputs.
type ManifestInput struct {
	Description string `yaml:"description"`
	Required    bool   `yaml:"required"`
	Default     string `yaml:"default"`
}

// ManifestOutput is one entry of action.yml's outputs.
type ManifestOutput struct {
	Description string `yaml:"description"`
	Value       string `yaml:"value"`
}

// ParseManifest reads an action.yml.
func ParseManifest(data []byte) (*Manifest, error) {
	var raw struct {
		Name        string    `yaml:"name"`
		Description string    `yaml:"description"`
		Inputs      yaml.Node `yaml:"inputs"`
		Outputs     yaml.Node `yaml:"outputs"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse action.yml: %w", err)
	}
	m := &Manifest{
		Name:        raw.Name,
		Description: raw.Description,
		Inputs:      map[string]ManifestInput{},
		Outputs:     map[string]ManifestOutput{},
	}
	if err := eachPair(&raw.Inputs, func(name string, v *yaml.Node) error {
		var in ManifestInput
		if err := v.Decode(&in); err != nil {
			return fmt.Errorf("input %s: %w", name, err)
		}
		m.Inputs[name] = in
		m.InputOrder = append(m.InputOrder, name)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("parse action.yml: %w", err)
	}
	if err := eachPair(&raw.Outputs, func(name string, v *yaml.Node) error {
		var out ManifestOutput
		if err := v.Decode(&out); err != nil {
			return fmt.Errorf("output %s: %w", name, err)
		}
		m.Outputs[name] = out
		m.OutputOrder = append(m.OutputOrder, name)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("parse action.yml: %w", err)
	}
	return m, nil
}

// MustParseManifest is for embedded action.yml files, which tests parse.
func MustParseManifest(data []byte) *Manifest {
	m, err := ParseManifest(data)
	if err != nil {
		panic(err)
	}
	return m
}

func eachPair(n *yaml.Node, fn func(string, *yaml.Node) error) error {
	if n.Kind == 0 {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: expected a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if err := fn(n.Content[i].Value, n.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}
