package httpjson

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/praxisgate/praxisgate/drivers"
	"github.com/praxisgate/praxisgate/drivers/internal/jsonpath"
)

// Config is the device's `httpjson:` section.
type Config struct {
	// Mode is "shelly" (Shelly Gen2/Gen3 RPC over HTTP) or "generic"
	// (any URL answering JSON).
	Mode string `yaml:"mode"`
	// URL is the device's base URL in shelly mode (http://192.168.1.50)
	// and the full URL to fetch in generic mode.
	URL string `yaml:"url"`
	// Timeout bounds each HTTP request including the auth round trip.
	Timeout time.Duration `yaml:"timeout"`
	// Auth is none, basic, digest or auto: auto sends no credentials until
	// the device asks, then answers its Basic or Digest challenge.
	Auth string `yaml:"auth"`
	// Username defaults to "admin", the only user a Shelly Gen2 knows.
	Username string `yaml:"username"`
	// Password is the device password.
	Password drivers.Secret `yaml:"password"`
	// Components lists the Shelly components to read (shelly mode).
	Components []Component `yaml:"components"`
	// Values lists the readings to pick out of the document (generic mode).
	Values []Value `yaml:"values"`
}

// Component is one Shelly RPC component instance, read with
// GET /rpc/<Type>.GetStatus?id=<ID>.
type Component struct {
	// Type is Temperature, Humidity, Switch or DevicePower.
	Type string `yaml:"type"`
	// ID is the component instance (0 for the first probe or relay).
	ID int `yaml:"id"`
	// Name is the metric name, or the prefix for components with several
	// readings; defaults to the lower-case type, with ".<id>" for id > 0.
	Name string `yaml:"name"`
}

// Value is one reading in a generic JSON document.
type Value = jsonpath.Value

func defaults() Config {
	return Config{Mode: "shelly", Timeout: 5 * time.Second, Auth: "auto", Username: "admin"}
}

// shellyTypes are the components whose status the driver understands.
var shellyTypes = map[string]bool{"Temperature": true, "Humidity": true, "Switch": true, "DevicePower": true}

func (c *Config) check() error {
	var errs []error
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		errs = append(errs, drivers.Fieldf("url", "required"))
	case err != nil:
		errs = append(errs, drivers.Fieldf("url", "%v", err))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, drivers.Fieldf("url", "want http:// or https://, got %q", c.URL))
	case u.Host == "":
		errs = append(errs, drivers.Fieldf("url", "no host in %q", c.URL))
	case u.User != nil:
		errs = append(errs, drivers.Fieldf("url", "put credentials in username/password, not the URL"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, drivers.Fieldf("timeout", "must be positive"))
	}
	switch c.Auth {
	case "none", "basic", "digest", "auto":
	default:
		errs = append(errs, drivers.Fieldf("auth", "want none, basic, digest or auto, got %q", c.Auth))
	}
	if (c.Auth == "basic" || c.Auth == "digest") && c.Password == "" {
		errs = append(errs, drivers.Fieldf("password", "required with auth %s", c.Auth))
	}
	names := map[string]bool{}
	switch c.Mode {
	case "shelly":
		c.URL = strings.TrimRight(c.URL, "/")
		if len(c.Components) == 0 {
			errs = append(errs, drivers.Fieldf("components", "at least one component is needed in shelly mode"))
		}
		if len(c.Values) > 0 {
			errs = append(errs, drivers.Fieldf("values", "only for mode generic"))
		}
		for i := range c.Components {
			k := &c.Components[i]
			if !shellyTypes[k.Type] {
				errs = append(errs, drivers.Fieldf(fmt.Sprintf("components[%d].type", i), "want Temperature, Humidity, Switch or DevicePower, got %q", k.Type))
			}
			if k.ID < 0 {
				errs = append(errs, drivers.Fieldf(fmt.Sprintf("components[%d].id", i), "must not be negative"))
			}
			if k.Name == "" {
				k.Name = defaultName(k.Type, k.ID)
			}
			if names[k.Name] {
				errs = append(errs, drivers.Fieldf(fmt.Sprintf("components[%d].name", i), "%q is used twice", k.Name))
			}
			names[k.Name] = true
		}
	case "generic":
		if len(c.Values) == 0 {
			errs = append(errs, drivers.Fieldf("values", "at least one value is needed in generic mode"))
		}
		if len(c.Components) > 0 {
			errs = append(errs, drivers.Fieldf("components", "only for mode shelly"))
		}
		errs = append(errs, jsonpath.CheckValues(c.Values, names)...)
	default:
		errs = append(errs, drivers.Fieldf("mode", "want shelly or generic, got %q", c.Mode))
	}
	return errors.Join(errs...)
}

// defaultName gives "temperature" for Temperature:0 and "temperature.1"
// for Temperature:1, so a single-probe device reads like any other
// temperature sensor in the alarm rules.
func defaultName(typ string, id int) string {
	n := strings.ToLower(typ)
	if typ == "DevicePower" {
		n = "battery"
	}
	if id > 0 {
		n = fmt.Sprintf("%s.%d", n, id)
	}
	return n
}
