// Low-precision positions of the sun and the moon, enough to place a solar
// term or a new moon on its Beijing civil day (engine/statutory_calendar.cc):
// the sun after Meeus, "Astronomical Algorithms" (2nd ed., 1998), chapter 25
// (about 0.01 degree, i.e. about 15 minutes of time); the new moon after
// chapter 49 (under a minute). Instants are micros since the Unix epoch (UT),
// converted from the dynamical time of the formulas with the Espenak-Meeus
// polynomials for delta T. Meant for 2000..2100; an instant within those errors
// of local midnight can land on the neighbouring day.
// Thread-safety: pure functions.
#ifndef CASEGRID_ENGINE_ASTRONOMY_H_
#define CASEGRID_ENGINE_ASTRONOMY_H_

#include <cstdint>

namespace casegrid::engine::astronomy {

// The sun's apparent geocentric ecliptic longitude at `micros`, in degrees
// [0, 360), referred to the true equinox of the date (Meeus 25.2-25.8).
double SunApparentLongitudeDegrees(int64_t micros);

// The instant in [from_micros, to_micros] at which the sun's apparent
// longitude reaches `longitude_degrees` (a solar term: Qingming is 15). The
// window must hold exactly one such instant and be shorter than a few weeks
// (the sun moves about a degree a day); otherwise the result is one of its ends.
int64_t SunReachesLongitudeMicros(double longitude_degrees, int64_t from_micros, int64_t to_micros);

// The instant of the new moon (conjunction) nearest to `micros` (Meeus 49.1
// with the new-moon periodic terms and the 14 additional corrections).
int64_t NewMoonNearestMicros(int64_t micros);

}  // namespace casegrid::engine::astronomy

#endif  // CASEGRID_ENGINE_ASTRONOMY_H_
