#pragma once
// exp and log written out in plain IEEE 754 arithmetic (the fdlibm algorithms),
// because libm implementations may differ in the last bit between platforms and
// versions, and the generator promises identical output everywhere. Accurate to
// about 1 ulp; not for hot numeric code elsewhere. The .cpp is compiled with
// -ffp-contract=off so no fused multiply-add changes a rounding.
namespace te::data {

double portable_exp(double x) noexcept;
// x must be positive and finite (the generator's only use); others return NaN.
double portable_log(double x) noexcept;

}  // namespace te::data
