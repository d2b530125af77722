/*
 * cyg_prog_cxx - a C++ program built with -finstrument-functions and the
 * adapter, for tests/test_cyg.c: names to demangle and an exception that
 * unwinds four instrumented frames.
 */
#include <cstdio>
#include <stdexcept>

namespace ringprof_test {

struct Shape {
	virtual ~Shape() = default;
	virtual double area() const = 0;
};

struct Square : Shape {
	explicit Square(double v) : side(v) {}
	double area() const override { return side * side; }
	double side;
};

template <typename T> __attribute__((noinline)) T twice(T v)
{
	return v + v;
}

__attribute__((noinline)) int thrower(int depth)
{
	if (depth == 0)
		throw std::runtime_error("unwound");
	return thrower(depth - 1) + 1;
}

} // namespace ringprof_test

int main()
{
	ringprof_test::Square sq(2.0);
	const ringprof_test::Shape &s = sq;
	double sum = 0;

	for (int i = 0; i < 10; i++)
		sum += s.area();
	sum += ringprof_test::twice<int>(3) + ringprof_test::twice<double>(1.5);
	try {
		sum += ringprof_test::thrower(3);
	} catch (const std::runtime_error &) {
		sum += 1;
	}
	std::printf("%g\n", sum);
	return 0;
}
