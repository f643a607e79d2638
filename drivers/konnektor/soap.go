package konnektor

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// The three EventService 7.2 operations the driver calls. None of them
// carries or returns patient data: GetCards is always filtered to
// institution, professional and terminal cards (SM-B, HBAx, SMC-KT), so
// an eGK's holder name or insurance number never reaches the gateway.
const (
	opResourceInformation = "GetResourceInformation"
	opCardTerminals       = "GetCardTerminals"
	opCards               = "GetCards"
)

// CallContext is the connector's call context (ConnectorContext.xsd
// v2.0). The triple must exist in the connector's information model.
type CallContext struct {
	MandantID, ClientSystemID, WorkplaceID string
}

// soapAction is the SOAPAction header of an EventService 7.2 operation.
func soapAction(op string) string { return `"` + NSEVT + "#" + op + `"` }

// request builds the SOAP 1.1 envelope of an EventService call. cardType
// is only used with GetCards.
func request(op string, cc CallContext, mandantWide bool, cardType string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<soap:Envelope xmlns:soap="` + NSSOAP + `"><soap:Body>`)
	b.WriteString(`<EVT:` + op)
	if op != opResourceInformation {
		fmt.Fprintf(&b, ` mandant-wide="%t"`, mandantWide)
	}
	b.WriteString(` xmlns:EVT="` + NSEVT + `" xmlns:CCTX="` + NSCCTX + `" xmlns:CONN="` + NSCONN + `" xmlns:CARDCMN="` + NSCARDCMN + `">`)
	b.WriteString(`<CCTX:Context>`)
	for _, f := range []struct{ el, v string }{{"MandantId", cc.MandantID}, {"ClientSystemId", cc.ClientSystemID}, {"WorkplaceId", cc.WorkplaceID}} {
		b.WriteString(`<CONN:` + f.el + `>`)
		xml.EscapeText(&b, []byte(f.v))
		b.WriteString(`</CONN:` + f.el + `>`)
	}
	b.WriteString(`</CCTX:Context>`)
	if op == opCards && cardType != "" {
		b.WriteString(`<CARDCMN:CardType>` + cardType + `</CARDCMN:CardType>`)
	}
	b.WriteString(`</EVT:` + op + `></soap:Body></soap:Envelope>`)
	return b.Bytes()
}

// envelope is a SOAP 1.1 answer with any of the bodies the driver reads.
type envelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Fault     *soapFault                   `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault"`
		Resource  *ResourceInformationResponse `xml:"http://ws.gematik.de/conn/EventService/v7.2 GetResourceInformationResponse"`
		Terminals *CardTerminalsResponse       `xml:"http://ws.gematik.de/conn/EventService/v7.2 GetCardTerminalsResponse"`
		Cards     *CardsResponse               `xml:"http://ws.gematik.de/conn/EventService/v7.2 GetCardsResponse"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

type soapFault struct {
	Code   string `xml:"faultcode"`
	String string `xml:"faultstring"`
	Detail struct {
		Error *TelematikError `xml:"http://ws.gematik.de/tel/error/v2.0 Error"`
	} `xml:"detail"`
}

// ResourceInformationResponse is EVT:GetResourceInformationResponse for
// the connector itself.
type ResourceInformationResponse struct {
	Status    Status     `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 Status"`
	Connector *Connector `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 Connector"`
}

// CardTerminalsResponse is EVT:GetCardTerminalsResponse.
type CardTerminalsResponse struct {
	Status    Status         `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 Status"`
	Terminals []CardTerminal `xml:"http://ws.gematik.de/conn/CardTerminalInfo/v8.0 CardTerminals>CardTerminal"`
}

// CardsResponse is EVT:GetCardsResponse.
type CardsResponse struct {
	Status Status `xml:"http://ws.gematik.de/conn/ConnectorCommon/v5.0 Status"`
	Cards  []Card `xml:"http://ws.gematik.de/conn/CardService/v8.1 Cards>Card"`
}

// FaultError is an error the connector reported: a SOAP fault, or a
// Status with Result Error. Code is the gematik error code (4021 unknown
// call context, 4002 operation refused in a fatal state...).
type FaultError struct {
	Op          string
	FaultString string
	Code        string
	Text        string
}

func (e *FaultError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: the connector answered with an error", e.Op)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	switch {
	case e.Text != "":
		fmt.Fprintf(&b, " (%s)", e.Text)
	case e.FaultString != "":
		fmt.Fprintf(&b, " (%s)", e.FaultString)
	}
	if h := codeHints[e.Code]; h != "" {
		b.WriteString(": " + h)
	}
	return b.String()
}

// codeHints says what to do about the error codes a monitoring client
// meets (gemSpec_Kon TAB_KON_502, TAB_KON_515).
var codeHints = map[string]string{
	"4002": "the connector is in a fatal operating state and refuses the operation",
	"4010": "the client system is not assigned to the Mandant",
	"4011": "the workplace is not assigned to the Mandant",
	"4014": "the card terminal is not assigned to the workplace",
	"4021": "the connector does not know this call context; check mandant_id, client_system_id and workplace_id against the connector's information model",
}

// ErrMalformed marks an answer that is not the XML the schemas describe.
var ErrMalformed = errors.New("malformed answer")

// decode parses a SOAP answer to op and returns its body: a fault becomes
// a *FaultError, a Status with Result Error too.
func decode(op string, data []byte) (*envelope, error) {
	var env envelope
	if err := xml.Unmarshal(data, &env); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", op, ErrMalformed, err)
	}
	b := &env.Body
	if f := b.Fault; f != nil {
		code, text := f.Detail.Error.Code()
		return nil, &FaultError{Op: op, FaultString: strings.TrimSpace(f.String), Code: code, Text: text}
	}
	var st *Status
	switch op {
	case opResourceInformation:
		if b.Resource == nil {
			return nil, fmt.Errorf("%s: %w: no GetResourceInformationResponse in the answer", op, ErrMalformed)
		}
		if b.Resource.Connector == nil {
			return nil, fmt.Errorf("%s: %w: the answer has no Connector element", op, ErrMalformed)
		}
		for i, es := range b.Resource.Connector.ErrorStates {
			if strings.TrimSpace(es.ErrorCondition) == "" || !es.Value.Set {
				return nil, fmt.Errorf("%s: %w: ErrorState %d lacks ErrorCondition or Value", op, ErrMalformed, i+1)
			}
		}
		st = &b.Resource.Status
	case opCardTerminals:
		if b.Terminals == nil {
			return nil, fmt.Errorf("%s: %w: no GetCardTerminalsResponse in the answer", op, ErrMalformed)
		}
		for i, t := range b.Terminals.Terminals {
			if strings.TrimSpace(t.CtID) == "" || !t.Connected.Set {
				return nil, fmt.Errorf("%s: %w: CardTerminal %d lacks CtId or Connected", op, ErrMalformed, i+1)
			}
		}
		st = &b.Terminals.Status
	case opCards:
		if b.Cards == nil {
			return nil, fmt.Errorf("%s: %w: no GetCardsResponse in the answer", op, ErrMalformed)
		}
		for i, c := range b.Cards.Cards {
			if strings.TrimSpace(c.CardHandle) == "" || strings.TrimSpace(c.CardType) == "" {
				return nil, fmt.Errorf("%s: %w: Card %d lacks CardHandle or CardType", op, ErrMalformed, i+1)
			}
			if c.CertExpiration != "" {
				if _, err := parseDate(c.CertExpiration); err != nil {
					return nil, fmt.Errorf("%s: %w: Card %d: CertificateExpirationDate: %w", op, ErrMalformed, i+1, err)
				}
			}
		}
		st = &b.Cards.Status
	default:
		return nil, fmt.Errorf("decode: unknown operation %q", op)
	}
	switch strings.TrimSpace(st.Result) {
	case "OK", "Warning":
	case "Error":
		code, text := st.Error.Code()
		return nil, &FaultError{Op: op, Code: code, Text: text, FaultString: "Status Error"}
	default:
		return nil, fmt.Errorf("%s: %w: Status/Result %q (want OK, Warning or Error)", op, ErrMalformed, st.Result)
	}
	return &env, nil
}

// ParseServiceDirectory reads connector.sds.
func ParseServiceDirectory(data []byte) (*ServiceDirectory, error) {
	var sd ServiceDirectory
	if err := xml.Unmarshal(data, &sd); err != nil {
		return nil, fmt.Errorf("connector.sds: %w: %w", ErrMalformed, err)
	}
	if len(sd.Services) == 0 {
		return nil, fmt.Errorf("connector.sds: %w: no services listed", ErrMalformed)
	}
	return &sd, nil
}

// EventServiceEndpoint picks the EventService 7.x endpoint the driver
// speaks (the request namespace is v7.2, which every 7.2.x version
// accepts) and returns its EndpointTLS location. The TargetNamespace
// attribute is not used: vendors write the WSDL namespace there.
func (sd *ServiceDirectory) EventServiceEndpoint() (string, string, error) {
	var best ServiceVersion
	for _, s := range sd.Services {
		if s.Name != "EventService" {
			continue
		}
		for _, v := range s.Versions {
			if !strings.HasPrefix(v.Version, "7.2") || v.EndpointTLS == nil || v.EndpointTLS.Location == "" {
				continue
			}
			if best.Version == "" || versionLess(best.Version, v.Version) {
				best = v
			}
		}
	}
	if best.Version == "" {
		return "", "", fmt.Errorf("connector.sds: no EventService 7.2 with an EndpointTLS (the driver speaks EventService 7.2)")
	}
	return best.EndpointTLS.Location, best.Version, nil
}

// versionLess compares dotted version numbers field by field.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			fmt.Sscanf(as[i], "%d", &x)
		}
		if i < len(bs) {
			fmt.Sscanf(bs[i], "%d", &y)
		}
		if x != y {
			return x < y
		}
	}
	return false
}
