package coldchain

import "math"

// ActivationOverR is ΔH/R in kelvin for the mean kinetic temperature: the
// activation energy ΔH = 83.144 kJ/mol divided by the gas constant
// R = 8.3144 J/(mol·K) gives 10000 K. Source: J. D. Haynes, "Worldwide
// virtual temperatures for product stability testing", J. Pharm. Sci. 60
// (1971) 927–929, the value adopted by USP General Chapter <1079.2> "Mean
// Kinetic Temperature in the Evaluation of Temperature Excursions during
// Storage and Transportation of Drug Products" and by the WHO's Technical
// Report Series 961, Annex 9 (model guidance for storage and transport of
// time- and temperature-sensitive pharmaceutical products).
const ActivationOverR = 10000.0

// zeroCelsius converts °C to K.
const zeroCelsius = 273.15

// arrhenius is one reading's term exp(−ΔH/(R·T)) of the MKT sum. Summing
// these terms lets a day's MKT be kept as one number across restarts.
func arrhenius(celsius float64) float64 {
	return math.Exp(-ActivationOverR / (celsius + zeroCelsius))
}

// mktFromSum returns the mean kinetic temperature in °C of n readings
// whose arrhenius terms sum to sum:
//
//	MKT = (ΔH/R) / −ln( (1/n) · Σ exp(−ΔH/(R·Tᵢ)) )   (temperatures in K)
//
// Readings are taken at the device's fixed poll interval, so equal weights
// are the formula as USP <1079.2> states it.
func mktFromSum(sum float64, n int) float64 {
	return ActivationOverR/-math.Log(sum/float64(n)) - zeroCelsius
}

// MKT returns the mean kinetic temperature in °C of readings in °C.
func MKT(celsius []float64) float64 {
	var sum float64
	for _, c := range celsius {
		sum += arrhenius(c)
	}
	return mktFromSum(sum, len(celsius))
}
