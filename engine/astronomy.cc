#include "engine/astronomy.h"

#include <cmath>
#include <cstddef>
#include <iterator>

namespace casegrid::engine::astronomy {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kMicrosPerDay = 86'400e6;
constexpr double kUnixEpochJulianDay = 2440587.5;  // 1970-01-01T00:00:00Z
constexpr double kJ2000 = 2451545.0;               // 2000-01-01T12:00 TT

double Radians(double degrees) { return degrees * kPi / 180.0; }

// `degrees` in [0, 360).
double Normalize(double degrees) {
  const double d = std::fmod(degrees, 360.0);
  return d < 0 ? d + 360.0 : d;
}

double JulianDay(int64_t micros) {
  return kUnixEpochJulianDay + static_cast<double>(micros) / kMicrosPerDay;
}

int64_t Micros(double julian_day) {
  return static_cast<int64_t>(std::llround((julian_day - kUnixEpochJulianDay) * kMicrosPerDay));
}

// Delta T = TT - UT in seconds: the polynomials of Espenak and Meeus, "Five
// Millennium Canon of Solar Eclipses" (NASA/TP-2006-214141), for 1986..2150.
// Beyond 2005 they extrapolate; the true value may differ by a minute or so.
double DeltaTSeconds(double year) {
  const double t = year - 2000.0;
  if (year < 2005.0) {
    return 63.86 +
           t * (0.3345 + t * (-0.060374 + t * (0.0017275 + t * (0.000651814 + t * 0.00002373599))));
  }
  if (year < 2050.0) return 62.92 + t * (0.32217 + t * 0.005589);
  const double u = (year - 1820.0) / 100.0;
  return -20.0 + 32.0 * u * u - 0.5628 * (2150.0 - year);
}

double DeltaTDays(double julian_day) {
  return DeltaTSeconds(2000.0 + (julian_day - kJ2000) / 365.25) / 86'400.0;
}

// The apparent longitude at Julian Ephemeris Day `jde` (Meeus ch. 25, "low
// accuracy"): T in Julian centuries from J2000.0;
//   L0 = 280.46646 + 36000.76983 T + 0.0003032 T^2     (mean longitude, 25.2)
//   M  = 357.52911 + 35999.05029 T - 0.0001537 T^2     (mean anomaly, 25.3)
//   C  = (1.914602 - 0.004817 T - 0.000014 T^2) sin M
//        + (0.019993 - 0.000101 T) sin 2M + 0.000289 sin 3M   (equation of centre)
//   true longitude = L0 + C
//   apparent = true - 0.00569 - 0.00478 sin(125.04 - 1934.136 T)
//   (aberration and nutation, 25.8).
double ApparentLongitudeAt(double jde) {
  const double t = (jde - kJ2000) / 36525.0;
  const double l0 = 280.46646 + t * (36000.76983 + t * 0.0003032);
  const double m = Radians(357.52911 + t * (35999.05029 - t * 0.0001537));
  const double c = (1.914602 - t * (0.004817 + t * 0.000014)) * std::sin(m) +
                   (0.019993 - t * 0.000101) * std::sin(2 * m) + 0.000289 * std::sin(3 * m);
  const double omega = Radians(125.04 - 1934.136 * t);
  return Normalize(l0 + c - 0.00569 - 0.00478 * std::sin(omega));
}

// The new moon of lunation `k` (an integer; k = 0 is 2000-01-06) as a Julian
// Ephemeris Day, Meeus ch. 49: the mean phase (49.1), the periodic terms of the
// new moon and the additional corrections A1..A14 (page 351-352).
double NewMoonJde(double k) {
  const double t = k / 1236.85;
  const double t2 = t * t, t3 = t2 * t, t4 = t3 * t;
  const double jde =
      2451550.09766 + 29.530588861 * k + 0.00015437 * t2 - 0.000000150 * t3 + 0.00000000073 * t4;
  const double e = 1.0 - 0.002516 * t - 0.0000074 * t2;  // 47.6
  const double m = Radians(2.5534 + 29.10535670 * k - 0.0000014 * t2 - 0.00000011 * t3);
  const double mp =
      Radians(201.5643 + 385.81693528 * k + 0.0107582 * t2 + 0.00001238 * t3 - 0.000000058 * t4);
  const double f =
      Radians(160.7108 + 390.67050284 * k - 0.0016118 * t2 - 0.00000227 * t3 + 0.000000011 * t4);
  const double om = Radians(124.7746 - 1.56375588 * k + 0.0020672 * t2 + 0.00000215 * t3);
  const double periodic =
      -0.40720 * std::sin(mp) + 0.17241 * e * std::sin(m) + 0.01608 * std::sin(2 * mp) +
      0.01039 * std::sin(2 * f) + 0.00739 * e * std::sin(mp - m) - 0.00514 * e * std::sin(mp + m) +
      0.00208 * e * e * std::sin(2 * m) - 0.00111 * std::sin(mp - 2 * f) -
      0.00057 * std::sin(mp + 2 * f) + 0.00056 * e * std::sin(2 * mp + m) -
      0.00042 * std::sin(3 * mp) + 0.00042 * e * std::sin(m + 2 * f) +
      0.00038 * e * std::sin(m - 2 * f) - 0.00024 * e * std::sin(2 * mp - m) -
      0.00017 * std::sin(om) - 0.00007 * std::sin(mp + 2 * m) + 0.00004 * std::sin(2 * mp - 2 * f) +
      0.00004 * std::sin(3 * m) + 0.00003 * std::sin(mp + m - 2 * f) +
      0.00003 * std::sin(2 * mp + 2 * f) - 0.00003 * std::sin(mp + m + 2 * f) +
      0.00003 * std::sin(mp - m + 2 * f) - 0.00002 * std::sin(mp - m - 2 * f) -
      0.00002 * std::sin(3 * mp + m) + 0.00002 * std::sin(4 * mp);
  struct Term {
    double coefficient, a0, per_k;
  };
  static constexpr Term kAdditional[] = {
      {0.000325, 299.77, 0.107408},  {0.000165, 251.88, 0.016321}, {0.000164, 251.83, 26.651886},
      {0.000126, 349.42, 36.412478}, {0.000110, 84.66, 18.206239}, {0.000062, 141.74, 53.303771},
      {0.000060, 207.14, 2.453732},  {0.000056, 154.84, 7.306860}, {0.000047, 34.52, 27.261239},
      {0.000042, 207.19, 0.121824},  {0.000040, 291.34, 1.844379}, {0.000037, 161.72, 24.198154},
      {0.000035, 239.56, 25.513099}, {0.000023, 331.55, 3.592518}};
  double additional = 0;
  for (size_t i = 0; i < std::size(kAdditional); ++i) {
    const Term& a = kAdditional[i];
    const double angle = a.a0 + a.per_k * k - (i == 0 ? 0.009173 * t2 : 0.0);  // A1 has a T^2 term
    additional += a.coefficient * std::sin(Radians(angle));
  }
  return jde + periodic + additional;
}

}  // namespace

double SunApparentLongitudeDegrees(int64_t micros) {
  const double jd = JulianDay(micros);
  return ApparentLongitudeAt(jd + DeltaTDays(jd));
}

int64_t SunReachesLongitudeMicros(double longitude_degrees, int64_t from_micros,
                                  int64_t to_micros) {
  // The signed distance to the target, in (-180, 180]: negative before it.
  auto before = [&](int64_t micros) {
    double d = SunApparentLongitudeDegrees(micros) - longitude_degrees;
    d = std::fmod(d + 540.0, 360.0) - 180.0;
    return d < 0;
  };
  int64_t lo = from_micros, hi = to_micros;
  while (hi - lo > 1'000'000) {  // to the second: far below the formula's error
    const int64_t mid = lo + (hi - lo) / 2;
    (before(mid) ? lo : hi) = mid;
  }
  return hi;
}

int64_t NewMoonNearestMicros(int64_t micros) {
  const double jd = JulianDay(micros);
  const double k0 = std::round((jd - 2451550.09766) / 29.530588861);
  double best = 0;
  for (double k = k0 - 1; k <= k0 + 1; ++k) {
    const double jde = NewMoonJde(k);
    const double ut = jde - DeltaTDays(jde);
    if (k == k0 - 1 || std::fabs(ut - jd) < std::fabs(best - jd)) best = ut;
  }
  return Micros(best);
}

}  // namespace casegrid::engine::astronomy
