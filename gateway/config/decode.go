package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/praxisgate/praxisgate/drivers"
)

// DecodeOptions tune Decode.
type DecodeOptions struct {
	// Path prefixes every problem's path, e.g. "devices[2].sim" when a
	// driver's section is decoded on its own.
	Path string
	// Dir is the directory relative x_file secret paths are resolved
	// against: the config file's directory. Empty means the working
	// directory.
	Dir string
}

// Decode walks a YAML node into out, a non-nil pointer to a struct (or any
// supported type), and returns every problem it found instead of stopping at
// the first. Keys are matched against `yaml:"name"` tags; fields without a
// tag use their lower-cased Go name, `yaml:"-"` fields are skipped and
// `yaml:",inline"` embeds a struct's keys. Keys the file leaves out, and keys
// set to null, keep the value out already holds, so callers pre-fill
// defaults. It is exported because driver packages define their own Config
// structs and the gateway decodes their sections with the same strictness.
//
// Supported: string, bool, ints, uints, float64, time.Duration (Go syntax
// plus a "d" day unit), ByteSize, drivers.Severity, drivers.Secret (also as
// key_file: path), pointers, slices, maps with string keys, structs.
func Decode(node *yaml.Node, out any, opt DecodeOptions) []Problem {
	v := reflect.ValueOf(out)
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
		panic(fmt.Sprintf("config.Decode: out must be a non-nil pointer, got %T", out))
	}
	d := newDecoder(opt.Dir)
	d.value(node, v.Elem(), opt.Path)
	return d.finish()
}

// maxProblems caps the list: past a hundred mistakes the file is not a
// config, and a hostile file must not make us build an unbounded report.
const maxProblems = 100

// nodeBudget caps how many nodes one decode visits, so alias bombs
// ("billion laughs") cost a bounded amount of work.
const nodeBudget = 200_000

type position struct{ line, col int }

// decoder holds the state of one decode: collected problems, the position
// of every key seen (for problems found later, in validation) and the
// guards against alias loops and bombs.
type decoder struct {
	dir       string
	probs     []Problem
	truncated bool
	pos       map[string]position
	failed    map[string]bool
	budget    int
	active    map[*yaml.Node]bool
	hooks     map[reflect.Type]func(n *yaml.Node, v reflect.Value, path string)
}

func newDecoder(dir string) *decoder {
	return &decoder{
		dir:    dir,
		pos:    map[string]position{},
		failed: map[string]bool{},
		budget: nodeBudget,
		active: map[*yaml.Node]bool{},
		hooks:  map[reflect.Type]func(*yaml.Node, reflect.Value, string){},
	}
}

// finish returns the problems sorted by position.
func (d *decoder) finish() []Problem {
	sortProblems(d.probs)
	if d.truncated {
		d.probs = append(d.probs, Problem{Msg: fmt.Sprintf("more than %d problems; fix these first", maxProblems)})
	}
	if d.budget <= 0 {
		d.probs = append(d.probs, Problem{Msg: fmt.Sprintf("document too large: more than %d values after expanding aliases", nodeBudget)})
	}
	return d.probs
}

// at records a problem at an explicit position.
func (d *decoder) at(p position, path, format string, args ...any) {
	if len(d.probs) >= maxProblems {
		d.truncated = true
		return
	}
	d.probs = append(d.probs, Problem{Path: path, Line: p.line, Column: p.col, Msg: fmt.Sprintf(format, args...)})
}

// addf records a problem at node n. The path is remembered as failed so
// that validation does not pile "required" or a range message on top of
// "want an integer".
func (d *decoder) addf(n *yaml.Node, path, format string, args ...any) {
	d.failed[path] = true
	d.at(position{n.Line, n.Column}, path, format, args...)
}

func (d *decoder) record(path string, n *yaml.Node) {
	if _, ok := d.pos[path]; !ok {
		d.pos[path] = position{n.Line, n.Column}
	}
}

// posOf returns where path, or the nearest enclosing key that exists,
// starts in the file: a missing required key is reported at its parent.
func (d *decoder) posOf(path string) position {
	for {
		if p, ok := d.pos[path]; ok {
			return p
		}
		if path == "" {
			return position{1, 1}
		}
		path = parentPath(path)
	}
}

// parentPath strips the last ".key" or "[i]" from a path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

var (
	durationType = reflect.TypeFor[time.Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
	severityType = reflect.TypeFor[drivers.Severity]()
	secretType   = reflect.TypeFor[drivers.Secret]()
)

// value decodes n into v, the heart of the walk.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	// Past the problem cap or the node budget the result is an error
	// anyway; walking on would only burn time on a hostile file.
	if d.truncated || d.budget <= 0 {
		return
	}
	d.budget--
	if d.budget == 0 {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			d.value(n.Content[0], v, path)
		}
		return
	case yaml.AliasNode:
		if n.Alias == nil || d.active[n.Alias] {
			d.addf(n, path, "alias refers to itself")
			return
		}
		d.value(n.Alias, v, path)
		return
	}
	if n.Anchor != "" {
		// Anchored nodes are marked while they are decoded so that an
		// alias inside them back to themselves is caught, not followed
		// until the budget runs out.
		if d.active[n] {
			d.addf(n, path, "alias refers to itself")
			return
		}
		d.active[n] = true
		defer delete(d.active, n)
	}
	if isNull(n) {
		return
	}
	// Pointers are followed here, not by recursion, so an anchored node
	// is not seen twice (which would look like an alias loop).
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if h := d.hooks[v.Type()]; h != nil {
		h(n, v, path)
		return
	}
	switch v.Type() {
	case durationType:
		d.duration(n, v, path)
		return
	case byteSizeType:
		d.byteSize(n, v, path)
		return
	case severityType:
		if !d.scalar(n, path, "a severity") {
			return
		}
		s, err := drivers.ParseSeverity(n.Value)
		if err != nil {
			d.addf(n, path, "want info, minor, major or critical, got %s", shown(n.Value))
			return
		}
		v.SetString(string(s))
		return
	case secretType:
		// Any scalar is a valid secret; a wrong kind of node is reported
		// without its content.
		if n.Kind != yaml.ScalarNode {
			d.addf(n, path, "want a string, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structure(n, v, path, nil)
	case reflect.Slice:
		d.slice(n, v, path)
	case reflect.Map:
		d.mapping(n, v, path)
	case reflect.String:
		if d.scalar(n, path, "a string") {
			v.SetString(n.Value)
		}
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.typeErr(n, path, "true or false")
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.typeErr(n, path, "an integer")
			return
		}
		if n.Decode(&i) != nil || v.OverflowInt(i) {
			d.addf(n, path, "%s is out of range", shown(n.Value))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.typeErr(n, path, "a whole number")
			return
		}
		if n.Decode(&u) != nil || v.OverflowUint(u) {
			d.addf(n, path, "%s is out of range (want a whole number ≥ 0)", shown(n.Value))
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		var f float64
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil {
			d.typeErr(n, path, "a number")
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || v.OverflowFloat(f) {
			d.addf(n, path, "want a finite number, got %s", shown(n.Value))
			return
		}
		v.SetFloat(f)
	default:
		// A programming error in a Config struct, reported rather than
		// panicking so check-config still lists the file's own mistakes.
		d.addf(n, path, "internal: cannot decode into Go type %s", v.Type())
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// scalar reports a type problem unless n is a scalar.
func (d *decoder) scalar(n *yaml.Node, path, want string) bool {
	if n.Kind != yaml.ScalarNode {
		d.typeErr(n, path, want)
		return false
	}
	return true
}

func (d *decoder) typeErr(n *yaml.Node, path, want string) {
	d.addf(n, path, "want %s, got %s", want, kindName(n))
}

// kindName describes a node for "got ..." in messages: a scalar's text, or
// the kind of collection.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return shown(n.Value)
	}
	return "something else"
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	if !d.scalar(n, path, "a duration like 30s") {
		return
	}
	dur, err := parseDuration(n.Value)
	if err != nil {
		d.addf(n, path, "want a duration like 30s, got %s", shown(n.Value))
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) byteSize(n *yaml.Node, v reflect.Value, path string) {
	if !d.scalar(n, path, "a size like 512MiB") {
		return
	}
	b, err := parseByteSize(n.Value)
	if err != nil {
		d.addf(n, path, "want a size like 512MiB, got %s", shown(n.Value))
		return
	}
	v.SetInt(int64(b))
}

func (d *decoder) slice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.typeErr(n, path, "a list")
		return
	}
	// A list in the file replaces a default list as a whole.
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := indexPath(path, i)
		d.record(p, item)
		d.value(item, s.Index(i), p)
	}
	v.Set(s)
}
