package upshid

import (
	"fmt"
	"strings"

	"github.com/praxisgate/praxisgate/drivers/upshid/hidreport"
)

// The usage pages of the USB-IF "Usage Tables for HID Power Devices".
const (
	pagePower   = 0x84
	pageBattery = 0x85
)

func pd(id uint16) hidreport.Usage { return hidreport.Usage(pagePower<<16 | uint32(id)) }
func bs(id uint16) hidreport.Usage { return hidreport.Usage(pageBattery<<16 | uint32(id)) }

// usageNames names the Power Device (0x84) and Battery System (0x85)
// usages as NUT's usbhid-ups does, so paths printed here read like the
// logs users already send.
var usageNames = map[hidreport.Usage]string{
	pd(0x01): "iName", pd(0x02): "PresentStatus", pd(0x03): "ChangedStatus", pd(0x04): "UPS",
	pd(0x05): "PowerSupply", pd(0x10): "BatterySystem", pd(0x11): "BatterySystemID", pd(0x12): "Battery",
	pd(0x13): "BatteryID", pd(0x14): "Charger", pd(0x15): "ChargerID", pd(0x16): "PowerConverter",
	pd(0x17): "PowerConverterID", pd(0x18): "OutletSystem", pd(0x19): "OutletSystemID", pd(0x1a): "Input",
	pd(0x1b): "InputID", pd(0x1c): "Output", pd(0x1d): "OutputID", pd(0x1e): "Flow", pd(0x1f): "FlowID",
	pd(0x20): "Outlet", pd(0x21): "OutletID", pd(0x22): "Gang", pd(0x23): "GangID", pd(0x24): "PowerSummary",
	pd(0x25): "PowerSummaryID", pd(0x30): "Voltage", pd(0x31): "Current", pd(0x32): "Frequency",
	pd(0x33): "ApparentPower", pd(0x34): "ActivePower", pd(0x35): "PercentLoad", pd(0x36): "Temperature",
	pd(0x37): "Humidity", pd(0x38): "BadCount", pd(0x40): "ConfigVoltage", pd(0x41): "ConfigCurrent",
	pd(0x42): "ConfigFrequency", pd(0x43): "ConfigApparentPower", pd(0x44): "ConfigActivePower",
	pd(0x45): "ConfigPercentLoad", pd(0x46): "ConfigTemperature", pd(0x47): "ConfigHumidity",
	pd(0x50): "SwitchOnControl", pd(0x51): "SwitchOffControl", pd(0x52): "ToggleControl",
	pd(0x53): "LowVoltageTransfer", pd(0x54): "HighVoltageTransfer", pd(0x55): "DelayBeforeReboot",
	pd(0x56): "DelayBeforeStartup", pd(0x57): "DelayBeforeShutdown", pd(0x58): "Test", pd(0x59): "ModuleReset",
	pd(0x5a): "AudibleAlarmControl", pd(0x60): "Present", pd(0x61): "Good", pd(0x62): "InternalFailure",
	pd(0x63): "VoltageOutOfRange", pd(0x64): "FrequencyOutOfRange", pd(0x65): "Overload",
	pd(0x66): "OverCharged", pd(0x67): "OverTemperature", pd(0x68): "ShutdownRequested",
	pd(0x69): "ShutdownImminent", pd(0x6b): "SwitchOn/Off", pd(0x6c): "Switchable", pd(0x6d): "Used",
	pd(0x6e): "Boost", pd(0x6f): "Buck", pd(0x70): "Initialized", pd(0x71): "Tested", pd(0x72): "AwaitingPower",
	pd(0x73): "CommunicationLost", pd(0xfd): "iManufacturer", pd(0xfe): "iProduct", pd(0xff): "iSerialNumber",

	bs(0x01): "SMBBatteryMode", bs(0x02): "SMBBatteryStatus", bs(0x03): "SMBAlarmWarning",
	bs(0x04): "SMBChargerMode", bs(0x05): "SMBChargerStatus", bs(0x06): "SMBChargerSpecInfo",
	bs(0x07): "SMBSelectorState", bs(0x08): "SMBSelectorPresets", bs(0x09): "SMBSelectorInfo",
	bs(0x10): "OptionalMfgFunction1", bs(0x11): "OptionalMfgFunction2", bs(0x12): "OptionalMfgFunction3",
	bs(0x13): "OptionalMfgFunction4", bs(0x14): "OptionalMfgFunction5", bs(0x15): "ConnectionToSMBus",
	bs(0x16): "OutputConnection", bs(0x17): "ChargerConnection", bs(0x18): "BatteryInsertion",
	bs(0x19): "Usenext", bs(0x1a): "OKToUse", bs(0x1b): "BatterySupported", bs(0x1c): "SelectorRevision",
	bs(0x1d): "ChargingIndicator", bs(0x28): "ManufacturerAccess", bs(0x29): "RemainingCapacityLimit",
	bs(0x2a): "RemainingTimeLimit", bs(0x2b): "AtRate", bs(0x2c): "CapacityMode",
	bs(0x2d): "BroadcastToCharger", bs(0x2e): "PrimaryBattery", bs(0x2f): "ChargeController",
	bs(0x40): "TerminateCharge", bs(0x41): "TerminateDischarge", bs(0x42): "BelowRemainingCapacityLimit",
	bs(0x43): "RemainingTimeLimitExpired", bs(0x44): "Charging", bs(0x45): "Discharging",
	bs(0x46): "FullyCharged", bs(0x47): "FullyDischarged", bs(0x48): "ConditioningFlag", bs(0x49): "AtRateOK",
	bs(0x4a): "SMBErrorCode", bs(0x4b): "NeedReplacement", bs(0x60): "AtRateTimeToFull",
	bs(0x61): "AtRateTimeToEmpty", bs(0x62): "AverageCurrent", bs(0x63): "MaxError",
	bs(0x64): "RelativeStateOfCharge", bs(0x65): "AbsoluteStateOfCharge", bs(0x66): "RemainingCapacity",
	bs(0x67): "FullChargeCapacity", bs(0x68): "RunTimeToEmpty", bs(0x69): "AverageTimeToEmpty",
	bs(0x6a): "AverageTimeToFull", bs(0x6b): "CycleCount", bs(0x80): "BattPackModelLevel",
	bs(0x81): "InternalChargeController", bs(0x82): "PrimaryBatterySupport", bs(0x83): "DesignCapacity",
	bs(0x84): "SpecificationInfo", bs(0x85): "ManufacturerDate", bs(0x86): "SerialNumber",
	bs(0x87): "iManufacturerName", bs(0x88): "iDevicename", bs(0x89): "iDeviceChemistry",
	bs(0x8a): "ManufacturerData", bs(0x8b): "Rechargeable", bs(0x8c): "WarningCapacityLimit",
	bs(0x8d): "CapacityGranularity1", bs(0x8e): "CapacityGranularity2", bs(0x8f): "iOEMInformation",
	bs(0xc0): "InhibitCharge", bs(0xc1): "EnablePolling", bs(0xc2): "ResetToZero", bs(0xd0): "ACPresent",
	bs(0xd1): "BatteryPresent", bs(0xd2): "PowerFail", bs(0xd3): "AlarmInhibited",
	bs(0xd4): "ThermistorUnderRange", bs(0xd5): "ThermistorHot", bs(0xd6): "ThermistorCold",
	bs(0xd7): "ThermistorOverRange", bs(0xd8): "VoltageOutOfRange", bs(0xd9): "CurrentOutOfRange",
	bs(0xda): "CurrentNotRegulated", bs(0xdb): "VoltageNotRegulated", bs(0xdc): "MasterMode",
	bs(0xf0): "ChargerSelectorSupport", bs(0xf1): "ChargerSpec", bs(0xf2): "Level2", bs(0xf3): "Level3",
}

// UsageName returns the NUT-style name of a usage, or its 8-digit hex form
// ("ff860016") for vendor and unknown usages.
func UsageName(u hidreport.Usage) string {
	if n, ok := usageNames[u]; ok {
		return n
	}
	return fmt.Sprintf("%08x", uint32(u))
}

// PathName returns a field's dotted path as NUT prints it,
// e.g. "UPS.PowerSummary.PresentStatus.ACPresent".
func PathName(f *hidreport.Field) string {
	var b strings.Builder
	for _, u := range f.Path {
		b.WriteString(UsageName(u))
		b.WriteByte('.')
	}
	b.WriteString(UsageName(f.Usage))
	return b.String()
}

// known reports whether a usage is on a page this driver understands.
func known(u hidreport.Usage) bool {
	_, ok := usageNames[u]
	return ok
}
