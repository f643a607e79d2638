package konnektor

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// XML namespaces of the gematik schemas (api-telematik OPB5) the driver
// reads. Elements are matched by namespace and local name, never by
// prefix: every vendor picks its own prefixes (ns2, CONN, none at all).
const (
	NSSOAP    = "http://schemas.xmlsoap.org/soap/envelope/"
	NSEVT     = "http://ws.gematik.de/conn/EventService/v7.2"
	NSCONN    = "http://ws.gematik.de/conn/ConnectorCommon/v5.0"
	NSCCTX    = "http://ws.gematik.de/conn/ConnectorContext/v2.0"
	NSCARD    = "http://ws.gematik.de/conn/CardService/v8.1"
	NSCARDCMN = "http://ws.gematik.de/conn/CardServiceCommon/v2.0"
	NSCT      = "http://ws.gematik.de/conn/CardTerminalInfo/v8.0"
	NSPI      = "http://ws.gematik.de/int/version/ProductInformation/v1.1"
	NSGERROR  = "http://ws.gematik.de/tel/error/v2.0"
	NSSD      = "http://ws.gematik.de/conn/ServiceDirectory/v3.1"
	NSSI      = "http://ws.gematik.de/conn/ServiceInformation/v2.0"
)

// ServiceDirectory is connector.sds (ServiceDirectory.xsd v3.1, root
// ConnectorServices).
type ServiceDirectory struct {
	XMLName            xml.Name           `xml:"http://ws.gematik.de/conn/ServiceDirectory/v3.1 ConnectorServices"`
	Product            ProductInformation `xml:"http://ws.gematik.de/int/version/ProductInformation/v1.1 ProductInformation"`
	TLSMandatory       bool               `xml:"http://ws.gematik.de/conn/ServiceDirectory/v3.1 TLSMandatory"`
	ClientAutMandatory bool               `xml:"http://ws.gematik.de/conn/ServiceDirectory/v3.1 ClientAutMandatory"`
	Services           []Service          `xml:"http://ws.gematik.de/conn/ServiceInformation/v2.0 ServiceInformation>Service"`
}

// Service is one ServiceInformation/Service entry.
type Service struct {
	Name     string           `xml:"Name,attr"`
	Versions []ServiceVersion `xml:"http://ws.gematik.de/conn/ServiceInformation/v2.0 Versions>Version"`
}

// ServiceVersion is one version of a service with its endpoints.
// TargetNamespace is what the vendor wrote there; real connectors put the
// WSDL namespace in it, so the driver does not rely on it.
type ServiceVersion struct {
	Version         string    `xml:"Version,attr"`
	TargetNamespace string    `xml:"TargetNamespace,attr"`
	Endpoint        *Endpoint `xml:"http://ws.gematik.de/conn/ServiceInformation/v2.0 Endpoint"`
	EndpointTLS     *Endpoint `xml:"http://ws.gematik.de/conn/ServiceInformation/v2.0 EndpointTLS"`
}

// Endpoint is an Endpoint or EndpointTLS element.
type Endpoint struct {
	Location string `xml:"Location,attr"`
}

// ProductInformation is ProductInformation.xsd v1.1, used by the
// connector (in connector.sds) and by card terminals.
type ProductInformation struct {
	InformationDate    string `xml:"http://ws.gematik.de/int/version/ProductInformation/v1.1 InformationDate"`
	ProductType        string `xml:"http://ws.gematik.de/int/version/ProductInformation/v1.1 ProductTypeInformation>ProductType"`
	ProductTypeVersion string `xml:"http://ws.gematik.de/int/version/ProductInformation/v1.1 ProductTypeInformation>ProductTypeVersion"`
	VendorID           string `xml:"http://ws.gematik.de/int/version/ProductInformation/v1.1 ProductIdentification>ProductVendorID"`
	ProductCode        string `xml:"http://ws.gematik.de/int/version/ProductInformation/v1.1 ProductIdentification>ProductCode"`
	HWVersion          string `xml:"http://ws.gematik.de/int/version/ProductInformation/v1.1 ProductIdentification>ProductVersion>Local>HWVersion"`
	FWVersion          string `xml:"http://ws.gematik.de/int/version/ProductInformation/v1.1 ProductIdentification>ProductVersion>Local>FWVersion"`
	VendorName         string `xml:"http://ws.gematik.de/int/version/ProductInformation/v1.1 ProductMiscellaneous>ProductVendorName"`
	ProductName        string `xml:"http://ws.gematik.de/int/version/ProductInformation/v1.1 ProductMiscellaneous>ProductName"`
}

// Status is CONN:Status: Result OK, Warning or Error, with an optional
// GERROR:Error trace.
type Status struct {
	Result string          `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 Result"`
	Error  *TelematikError `xml:"http://ws.gematik.de/tel/error/v2.0 Error"`
}

// TelematikError is GERROR:Error (TelematikError.xsd v2.0), found in a
// Status or in a SOAP fault's detail.
type TelematikError struct {
	MessageID string  `xml:"http://ws.gematik.de/tel/error/v2.0 MessageID"`
	Timestamp string  `xml:"http://ws.gematik.de/tel/error/v2.0 Timestamp"`
	Trace     []Trace `xml:"http://ws.gematik.de/tel/error/v2.0 Trace"`
}

// Trace is one entry of an error trace; the last one carries the code
// the connector reports to the client.
type Trace struct {
	CompType  string `xml:"http://ws.gematik.de/tel/error/v2.0 CompType"`
	Code      string `xml:"http://ws.gematik.de/tel/error/v2.0 Code"`
	Severity  string `xml:"http://ws.gematik.de/tel/error/v2.0 Severity"`
	ErrorType string `xml:"http://ws.gematik.de/tel/error/v2.0 ErrorType"`
	ErrorText string `xml:"http://ws.gematik.de/tel/error/v2.0 ErrorText"`
}

// Code returns the gematik error code of the last trace entry and its
// text, or "" when the error has no trace.
func (e *TelematikError) Code() (code, text string) {
	if e == nil || len(e.Trace) == 0 {
		return "", ""
	}
	t := e.Trace[len(e.Trace)-1]
	return strings.TrimSpace(t.Code), strings.TrimSpace(t.ErrorText)
}

// Connector is CONN:Connector in a GetResourceInformationResponse.
type Connector struct {
	VPNTI       VPNStatus    `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 VPNTIStatus"`
	VPNSIS      VPNStatus    `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 VPNSISStatus"`
	ErrorStates []ErrorState `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 OperatingState>ErrorState"`
}

// VPNStatus is VPNTIStatus or VPNSISStatus: Online or Offline since
// Timestamp.
type VPNStatus struct {
	ConnectionStatus string `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 ConnectionStatus"`
	Timestamp        string `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 Timestamp"`
}

// ErrorState is one operational-state condition. A connector lists every
// condition it knows, each with Value true (present) or false.
type ErrorState struct {
	ErrorCondition string `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 ErrorCondition"`
	Severity       string `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 Severity"`
	Type           string `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 Type"`
	Value          xsBool `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 Value"`
	ValidFrom      string `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 ValidFrom"`
}

// Card is CARD:Card (CardService.xsd v8.1, CardInfoType). The driver
// never asks for eGK or KVK cards, so Kvnr is not modelled.
type Card struct {
	CardHandle     string `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 CardHandle"`
	CardType       string `xml:"http://ws.gematik.de/conn/CardServiceCommon/v2.0 CardType"`
	Iccsn          string `xml:"http://ws.gematik.de/conn/CardServiceCommon/v2.0 Iccsn"`
	CtID           string `xml:"http://ws.gematik.de/conn/CardServiceCommon/v2.0 CtId"`
	SlotID         string `xml:"http://ws.gematik.de/conn/CardServiceCommon/v2.0 SlotId"`
	InsertTime     string `xml:"http://ws.gematik.de/conn/CardService/v8.1 InsertTime"`
	CardHolderName string `xml:"http://ws.gematik.de/conn/CardService/v8.1 CardHolderName"`
	CertExpiration string `xml:"http://ws.gematik.de/conn/CardService/v8.1 CertificateExpirationDate"`
}

// CardTerminal is CT:CardTerminal (CardTerminalInfo.xsd v8.0).
type CardTerminal struct {
	Product    ProductInformation `xml:"http://ws.gematik.de/int/version/ProductInformation/v1.1 ProductInformation"`
	CtID       string             `xml:"http://ws.gematik.de/conn/CardServiceCommon/v2.0 CtId"`
	Name       string             `xml:"http://ws.gematik.de/conn/CardTerminalInfo/v8.0 Name"`
	MacAddress string             `xml:"http://ws.gematik.de/conn/CardTerminalInfo/v8.0 MacAddress"`
	IPv4       string             `xml:"http://ws.gematik.de/conn/CardTerminalInfo/v8.0 IPAddress>IPV4Address"`
	IPv6       string             `xml:"http://ws.gematik.de/conn/CardTerminalInfo/v8.0 IPAddress>IPV6Address"`
	Slots      string             `xml:"http://ws.gematik.de/conn/CardTerminalInfo/v8.0 Slots"`
	IsPhysical xsBool             `xml:"http://ws.gematik.de/conn/CardTerminalInfo/v8.0 IS_PHYSICAL"`
	Connected  xsBool             `xml:"http://ws.gematik.de/conn/CardTerminalInfo/v8.0 Connected"`
}

// EverConnected tells a terminal the connector has talked to apart from
// one that is only configured: never-connected terminals report an
// InformationDate of 1970-01-01 and empty product data.
func (t CardTerminal) EverConnected() bool {
	if t.Product.VendorID != "" || t.Product.ProductCode != "" {
		return true
	}
	d, err := parseDateTime(t.Product.InformationDate)
	return err == nil && d.Year() > 1970
}

// xsBool is xs:boolean: "true", "false", "1" or "0", with surrounding
// whitespace allowed (the schema's whitespace facet is collapse).
type xsBool struct {
	Set bool // the element was present and valid
	V   bool
}

func (b *xsBool) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var s string
	if err := d.DecodeElement(&s, &start); err != nil {
		return err
	}
	switch strings.TrimSpace(s) {
	case "true", "1":
		*b = xsBool{Set: true, V: true}
	case "false", "0":
		*b = xsBool{Set: true}
	default:
		return fmt.Errorf("%s: %q is not an xs:boolean", start.Name.Local, s)
	}
	return nil
}

// parseDateTime reads xs:dateTime with or without fraction and zone.
func parseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an xs:dateTime", s)
}

// parseDate reads xs:date, which may carry a zone ("2025-01-22Z",
// "2025-01-22+01:00"); the day is what counts, the zone is dropped.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) < 10 {
		return time.Time{}, fmt.Errorf("%q is not an xs:date", s)
	}
	day, zone := s[:10], s[10:]
	switch {
	case zone == "", zone == "Z":
	case len(zone) == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':':
		if _, err := time.Parse("-07:00", zone); err != nil {
			return time.Time{}, fmt.Errorf("%q is not an xs:date", s)
		}
	default:
		return time.Time{}, fmt.Errorf("%q is not an xs:date", s)
	}
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an xs:date", s)
	}
	return t, nil
}
