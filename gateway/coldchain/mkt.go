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

// mktFromWeighted returns the mean kinetic temperature in °C of readings
// each weighted by the time it held, whose weighted arrhenius terms sum to
// sum over total units of time:
//
//	MKT = (ΔH/R) / −ln( Σ wᵢ·exp(−ΔH/(R·Tᵢ)) / Σ wᵢ )   (temperatures in K)
//
// USP <1079.2> states the formula for readings at equal intervals, where
// every wᵢ is the same. MQTT and Zigbee sensors report on change, so
// equal weights would let a burst of readings during a door opening
// outweigh hours of one steady value; weighting each reading by the time
// it stood for (until the next reading, at most the hold time) is the
// same formula applied to the temperature as a function of time.
func mktFromWeighted(sum, total float64) float64 {
	return ActivationOverR/-math.Log(sum/total) - zeroCelsius
}

// MKT returns the mean kinetic temperature in °C of readings in °C.
func MKT(celsius []float64) float64 {
	var sum float64
	for _, c := range celsius {
		sum += arrhenius(c)
	}
	return mktFromWeighted(sum, float64(len(celsius)))
}
