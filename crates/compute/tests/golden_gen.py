#!/usr/bin/env python3
"""Writes tests/golden/*.json from compact case definitions.

Only the JSON boilerplate is generated: every expected value below is a literal worked
out by hand (trigonometry via Python's `math`, an independent implementation), with the
reasoning in each case's `why`. Run from anywhere: `python3 golden_gen.py`; existing files
not defined here are left alone.
"""
import json
import math
import os

DS = "ri.nominal.main.dataset.test"
S = 1_000_000_000
CASES = {}


def U(variant, payload):
    return {"type": variant, variant: payload}


def lit(v):
    return U("literal", v)


def chan(name, **extra):
    src = {"dataSourceRid": lit(DS), "channel": lit(name)}
    src.update(extra)
    return U("channel", U("dataSource", src))


def num(inner):
    return U("numeric", inner)


def series(s):
    return U("series", {"input": s})


def nseries(n):
    return series(num(n))


def ranges(r, **kw):
    d = {"input": r}
    d.update(kw)
    return U("ranges", d)


def secs(n):
    return U("seconds", {"seconds": lit(n)})


def dconst(seconds, nanos=0):
    return lit({"seconds": seconds, "nanos": nanos})


def w(channel, points, kind="numeric", unit=None, tags=None):
    enc = lambda v: ["NaN"] if isinstance(v, float) and math.isnan(v) else v
    d = {"channel": channel, "kind": kind, "points": [[int(t * S), enc(v)] for t, v in points]}
    if unit:
        d["unit"] = unit
    if tags:
        d["tags"] = tags
    return d


def ts(t):
    n = int(round(t * S))
    return {"seconds": n // S, "nanos": n % S}


def fv(v):
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if v == math.inf:
        return "Infinity"
    if v == -math.inf:
        return "-Infinity"
    return v


def nplot(points):
    return U("numeric", {"timestamps": [ts(t) for t, _ in points], "values": [fv(v) for _, v in points]})


def rng(a, b):
    d = {}
    if a is not None:
        d["start"] = ts(a)
    if b is not None:
        d["end"] = ts(b)
    return d


def rplot(rs):
    return U("range", [rng(a, b) for a, b in rs])


def case(name, why, writes, node, expected, start=0, end=10, **extra):
    d = {"why": why, "writes": writes, "node": node, "start": int(start * S), "end": int(end * S)}
    if expected is not None:
        d["expected"] = expected
    d.update(extra)
    assert name not in CASES, name
    CASES[name] = d


X = chan("x")
A = chan("a")
B = chan("b")

# ---------------------------------------------------------------- unary math
UNARY_IN = [(0, 4.0), (1, -1.0), (2, 0.25), (3, 0.0)]
UNARY = {
    "abs": ([4, 1, 0.25, 0], "absolute values"),
    "negate": ([-4, 1, -0.25, -0.0], "sign flipped"),
    "sqrt": ([2, math.nan, 0.5, 0], "sqrt of a negative is NaN"),
    "ln": ([math.log(4), math.nan, math.log(0.25), -math.inf], "ln of a negative is NaN, ln 0 = -inf"),
    "log10": ([math.log10(4), math.nan, math.log10(0.25), -math.inf], "log10 of a negative is NaN, of 0 -inf"),
    "sin": ([math.sin(v) for _, v in UNARY_IN], "radians"),
    "cos": ([math.cos(v) for _, v in UNARY_IN], "radians"),
    "tan": ([math.tan(v) for _, v in UNARY_IN], "radians"),
    "asin": ([math.nan, -math.pi / 2, math.asin(0.25), 0], "asin outside [-1, 1] is NaN"),
    "acos": ([math.nan, math.pi, math.acos(0.25), math.pi / 2], "acos outside [-1, 1] is NaN"),
}
for op, (vals, why) in UNARY.items():
    case(f"unary_{op}", f"{op} pointwise: {why}", [w("x", UNARY_IN)],
         nseries(U(op, {"x": X})), nplot(list(zip([0, 1, 2, 3], vals))))

# ---------------------------------------------------------------- binary ops
BA = [(0, 6.0), (1, -7.0), (2, 0.0), (3, 5.0), (4, -3.0)]
BB = [(0, 4.0), (1, 2.0), (2, 0.0), (3, 0.0), (4, 0.0)]
BIN = {
    "add": ([10, -5, 0, 5, -3], "a + b"),
    "subtract": ([2, -9, 0, 5, -3], "a - b"),
    "multiply": ([24, -14, 0, 0, -0.0], "a * b"),
    "divide": ([1.5, -3.5, math.nan, math.inf, -math.inf], "x/0 = +-inf, 0/0 = NaN"),
    "floorDivide": ([1, -4, math.nan, math.inf, -math.inf], "floor(a / b): -3.5 floors to -4"),
    "modulo": ([2, -1, math.nan, math.nan, math.nan], "fmod: sign of the dividend, x mod 0 = NaN"),
}
for op, (vals, why) in BIN.items():
    case(f"binary_{op}", why, [w("a", BA), w("b", BB)],
         nseries(U(op, {"left": A, "right": B})), nplot(list(zip(range(5), vals))))
case("binary_power", "base^exponent: (-7)^2 = 49, 0^0 = 1, 5^0 = 1, (-3)^0.5 = NaN",
     [w("a", BA), w("b", [(0, 0.5), (1, 2.0), (2, 0.0), (3, 0.0), (4, 0.5)])],
     nseries(U("power", {"base": A, "exponent": B})),
     nplot([(0, math.sqrt(6)), (1, 49), (2, 1), (3, 1), (4, math.nan)]))
case("binary_atan2", "atan2(y, x) with quadrants; atan2(0, 0) = 0",
     [w("a", BA), w("b", BB)], nseries(U("atan2", {"y": A, "x": B})),
     nplot([(t, math.atan2(y, x)) for (t, y), (_, x) in zip(BA, BB)]))

# ---------------------------------------------------------------- n-ary ops
NA = [(0, 1.0), (1, 2.0), (2, 1.0)]
NB = [(0, 3.0), (1, -1.0), (2, 1.0)]
NC = [(0, 2.0), (1, 2.0), (2, math.nan)]
C = chan("c")
NARY = {
    "max": ([3, 2, math.nan], "pointwise max; NaN propagates"),
    "min": ([1, -1, math.nan], "pointwise min; NaN propagates"),
    "mean": ([2, 1, math.nan], "pointwise mean"),
    "sum": ([6, 3, math.nan], "pointwise sum"),
    "product": ([6, -4, math.nan], "pointwise product"),
}
for op, (vals, why) in NARY.items():
    case(f"nary_{op}", why, [w("a", NA), w("b", NB), w("c", [(t, v) for t, v in NC])],
         nseries(U(op, {"inputs": [A, B, C]})), nplot(list(zip(range(3), vals))))
case("nary_max_fill_radius", "interpolationRadius 3 s: b's value at 0 s still fills at 2.5 s (default 1 s would drop it)",
     [w("a", [(0, 1.0), (2.5, 7.0)]), w("b", [(0, 5.0)])],
     nseries(U("max", {"inputs": [A, B], "interpolationConfiguration": U("forwardFillInterpolation", {"interpolationRadius": dconst(3)})})),
     nplot([(0, 5), (2.5, 7)]))
case("nary_union_sum", "union keeps every point; the shared timestamp 1 s is reduced with SUM",
     [w("a", [(0, 1.0), (1, 2.0)]), w("b", [(1, 10.0), (2, 20.0)])],
     nseries(U("union", {"input": [A, B], "operation": "SUM"})), nplot([(0, 1), (1, 12), (2, 20)]))
case("nary_union_first", "union without operation: a shared timestamp keeps the first input's value",
     [w("a", [(0, 1.0), (1, 2.0)]), w("b", [(1, 10.0), (2, 20.0)])],
     nseries(U("union", {"input": [A, B]})), nplot([(0, 1), (1, 2), (2, 20)]))

# ---------------------------------------------------------------- constant / scale / offset / shift
X5 = [(0, 1.0), (1, 3.0), (2, 2.0), (3, 5.0), (4, 4.0)]
case("constant_add", "a constant adds no timestamps: x + 2 at x's points",
     [w("x", X5[:3])], nseries(U("add", {"left": X, "right": U("constant", U("double", lit(2.0)))})),
     nplot([(0, 3), (1, 5), (2, 4)]))
case("constant_only_empty", "a graph of constants only has no timestamps: empty series",
     [w("x", X5[:3])], nseries(U("constant", U("double", lit(2.0)))), U("numeric", {}))
case("scale", "x * 3", [w("x", X5[:3])], nseries(U("scale", {"input": X, "scalar": lit(3.0)})),
     nplot([(0, 3), (1, 9), (2, 6)]))
case("offset", "x + 1.5", [w("x", X5[:3])], nseries(U("offset", {"input": X, "scalar": lit(1.5)})),
     nplot([(0, 2.5), (1, 4.5), (2, 3.5)]))
case("time_shift_v1_negative", "timeShift by -1 s (DurationConstant literal): the point at 3 s moves to 2 s and enters [0, 2]",
     [w("x", X5)], nseries(U("timeShift", {"input": X, "duration": dconst(-1)})),
     nplot([(0, 3), (1, 2), (2, 5)]), end=2)

# ---------------------------------------------------------------- differences
case("value_difference", "v[i] - v[i-1]; the first point has no output",
     [w("x", X5)], nseries(U("valueDifference", {"input": X})), nplot([(1, 2), (2, -1), (3, 3), (4, -1)]))
case("value_difference_zero_negatives", "setNegativeValuesToZero",
     [w("x", X5)], nseries(U("valueDifference", {"input": X, "negativeValuesConfiguration": U("setNegativeValuesToZero", {})})),
     nplot([(1, 2), (2, 0), (3, 3), (4, 0)]))
case("value_difference_exclude_negatives", "excludeNegativeValues drops the points",
     [w("x", X5)], nseries(U("valueDifference", {"input": X, "negativeValuesConfiguration": U("excludeNegativeValues", {})})),
     nplot([(1, 2), (3, 3)]))
case("value_difference_lookback", "the first point in [2, 4] differs from the point at 1 s, read before start",
     [w("x", X5)], nseries(U("valueDifference", {"input": X})), nplot([(2, -1), (3, 3), (4, -1)]), start=2)
case("time_difference_ms", "t[i] - t[i-1] in milliseconds, over an enum input",
     [w("e", [(0, "a"), (1, "b"), (3.5, "a")], kind="enum")],
     nseries(U("timeDifference", {"input": U("enum", chan("e")), "timeUnit": "MILLISECONDS"})),
     nplot([(1, 1000), (3.5, 2500)]))
case("time_difference_seconds", "default unit seconds",
     [w("x", [(0, 1.0), (0.25, 1.0), (2.25, 1.0)])],
     nseries(U("timeDifference", {"input": num(X)})), nplot([(0.25, 0.25), (2.25, 2)]))

# ---------------------------------------------------------------- rolling aggregations
def rolling_time(window_s, op, extra=None):
    opv = U(op, extra or {})
    return nseries(U("numericAggregation", {"input": U("rollingTime", {"input": num(X), "window": secs(window_s)}), "operator": opv}))


def rolling_points(n, op, extra=None):
    opv = U(op, extra or {})
    return nseries(U("numericAggregation", {"input": U("rollingPoints", {"input": num(X), "points": lit(n)}), "operator": opv}))


# windows (t-2, t]: {1} {1,3} {3,2} {2,5} {5,4}
ROLL = {
    "sum": [1, 4, 5, 7, 9],
    "average": [1, 2, 2.5, 3.5, 4.5],
    "min": [1, 1, 2, 2, 4],
    "max": [1, 3, 3, 5, 5],
    "count": [1, 2, 2, 2, 2],
    "standardDeviation": [0, 1, 0.5, 1.5, 0.5],
    "rootMeanSquare": [1, math.sqrt(5), math.sqrt(6.5), math.sqrt(14.5), math.sqrt(20.5)],
}
for op, vals in ROLL.items():
    case(f"rolling_time_{op}", f"{op} over (t-2s, t]: windows {{1}} {{1,3}} {{3,2}} {{2,5}} {{5,4}}",
         [w("x", X5)], rolling_time(2, op), nplot(list(zip(range(5), vals))))
case("rolling_time_percentile", "p75 over (t-3s, t], linear between closest ranks (index p*(n-1)): {1} {1,3} {1,2,3} {2,3,5} {2,4,5}",
     [w("x", X5)], rolling_time(3, "percentile", {"percentile": lit(0.75)}),
     nplot([(0, 1), (1, 2.5), (2, 2.5), (3, 4), (4, 4.5)]))
case("rolling_time_percentile_median_lookback", "p50 over (t-3s, t] from start 3 s: windows reach back to 1 s",
     [w("x", X5)], rolling_time(3, "percentile", {"percentile": lit(0.5)}),
     nplot([(3, 3), (4, 4)]), start=3)
case("rolling_points_count", "current point and the 2 before: counts 1 2 3 3 3",
     [w("x", X5)], rolling_points(3, "count"), nplot(list(zip(range(5), [1, 2, 3, 3, 3]))))
case("rolling_points_max", "max of the last 3 points",
     [w("x", X5)], rolling_points(3, "max"), nplot(list(zip(range(5), [1, 3, 3, 5, 5]))))
case("rolling_points_sum_lookback", "sum of the last 3 points from start 3 s (2 points read before start)",
     [w("x", X5)], rolling_points(3, "sum"), nplot([(3, 10), (4, 11)]), start=3)
case("rolling_operation", "deprecated rollingOperation: window.duration 2 s, sum",
     [w("x", X5)], nseries(U("rollingOperation", {"input": X, "window": U("duration", dconst(2)), "operator": U("sum", {})})),
     nplot(list(zip(range(5), ROLL["sum"]))))

# ---------------------------------------------------------------- filters
THR = lambda inp, v, op: U("threshold", {"input": inp, "threshold": lit(v), "operator": op})
case("filter_transformation", "keep x points inside the ranges where y > 0: [1,2) and [3, open)",
     [w("x", X5), w("y", [(0, 0.0), (1, 1.0), (2, 0.0), (3, 1.0)])],
     nseries(U("filterTransformation", {"input": X, "filter": THR(chan("y"), 0.0, "GREATER_THAN")})),
     nplot([(1, 3), (3, 5), (4, 4)]))
case("threshold_filter", "keep x >= 3", [w("x", X5)],
     nseries(U("thresholdFilter", {"input": X, "threshold": lit(3.0), "operator": "GREATER_THAN_OR_EQUAL_TO"})),
     nplot([(1, 3), (3, 5), (4, 4)]))
case("drop_nan", "NaN points removed", [w("x", [(0, 1.0), (1, ["NaN"]), (2, 2.0)])],
     nseries(U("dropNan", {"input": X})), nplot([(0, 1), (2, 2)]))
E3 = [(0, "on"), (1, "off"), (2, "unknown")]
case("enum_to_numeric_default", "on -> 1, off -> 0, unmapped -> defaultValue -1",
     [w("e", E3, kind="enum")],
     nseries(U("enumToNumeric", {"input": chan("e"), "mapping": {"on": lit(1.0), "off": lit(0.0)}, "defaultValue": lit(-1.0)})),
     nplot([(0, 1), (1, 0), (2, -1)]))
case("enum_to_numeric_drop", "unmapped values are dropped without a default",
     [w("e", E3, kind="enum")],
     nseries(U("enumToNumeric", {"input": chan("e"), "mapping": {"on": lit(1.0), "off": lit(0.0)}})),
     nplot([(0, 1), (1, 0)]))
IA = [(0, 1.0), (1, 5.0), (2, 3.0)]
IB = [(0, 2.0), (1, 2.0), (2, 3.0)]
case("if_else", "a > b ? a : b over aligned inputs: 2, 5, 3",
     [w("a", IA), w("b", IB)],
     nseries(U("ifElse", {"condition": U("greaterThan", {"left": A, "right": B}), "trueValue": A, "falseValue": B})),
     nplot([(0, 2), (1, 5), (2, 3)]))
case("cumulative_sum", "running sum from startTimestamp 1 s; earlier points excluded",
     [w("x", X5)], nseries(U("cumulativeSum", {"input": X, "startTimestamp": lit(ts(1))})),
     nplot([(1, 3), (2, 5), (3, 10), (4, 14)]))
case("integral", "trapezoids from 0 s in value*s: 0, 2, 4.5, 8, 12.5",
     [w("x", X5)], nseries(U("integral", {"input": X, "startTimestamp": lit(ts(0))})),
     nplot([(0, 0), (1, 2), (2, 4.5), (3, 8), (4, 12.5)]))
case("integral_minutes", "timeUnit MINUTES divides the area by 60",
     [w("x", [(0, 60.0), (60, 60.0)])],
     nseries(U("integral", {"input": X, "startTimestamp": lit(ts(0)), "timeUnit": "MINUTES"})),
     nplot([(0, 0), (60, 60)]), end=100)

# ---------------------------------------------------------------- booleans (via booleanRanges)
def bool_ranges(b):
    return ranges(U("booleanRanges", {"input": b}))


CMP = {
    "greaterThan": ([(1, 2)], "a > b only at 1 s"),
    "lessThan": ([(0, 1)], "a < b only at 0 s"),
    "equalTo": ([(2, None)], "equal at 2 s, open to the end"),
    "notEqualTo": ([(0, 2)], "differ at 0 s and 1 s"),
    "greaterThanOrEqualTo": ([(1, None)], "1 s and 2 s"),
    "lessThanOrEqualTo": ([(0, 1), (2, None)], "0 s and 2 s"),
}
for op, (rs, why) in CMP.items():
    case(f"bool_{op}", f"a = 1 5 3, b = 2 2 3: {why}", [w("a", IA), w("b", IB)],
         bool_ranges(U(op, {"left": A, "right": B})), rplot(rs))
K = lambda v: U("constant", U("double", lit(v)))
case("bool_and", "2 < a < 4 holds only at 2 s (a = 1 5 3)", [w("a", IA)],
     bool_ranges(U("and", {"left": U("greaterThan", {"left": A, "right": K(2.0)}), "right": U("lessThan", {"left": A, "right": K(4.0)})})),
     rplot([(2, None)]))
case("bool_or", "a < 2 or a > 4 holds at 0 s and 1 s", [w("a", IA)],
     bool_ranges(U("or", {"left": U("lessThan", {"left": A, "right": K(2.0)}), "right": U("greaterThan", {"left": A, "right": K(4.0)})})),
     rplot([(0, 2)]))
case("bool_nan_false", "NaN compares false, so it ends the range", [w("a", [(0, 5.0), (1, ["NaN"]), (2, 5.0)])],
     bool_ranges(U("greaterThan", {"left": A, "right": K(1.0)})), rplot([(0, 1), (2, None)]))

# ---------------------------------------------------------------- enums
E = chan("e")
E5 = [(0, "a"), (1, "b"), (2, "b"), (3, "c"), (4, "b")]


def eplot(points):
    cats = sorted({v for _, v in points})
    return U("enum", {"timestamps": [ts(t) for t, _ in points], "values": [cats.index(v) for _, v in points], "categories": cats})


case("enum_filter_transformation", "keep enum points inside the ranges where y > 0: [1,2) and [3, open)",
     [w("e", E5, kind="enum"), w("y", [(0, 0.0), (1, 1.0), (2, 0.0), (3, 1.0)])],
     series(U("enum", U("filterTransformation", {"input": E, "filter": THR(chan("y"), 0.0, "GREATER_THAN")}))),
     eplot([(1, "b"), (3, "c"), (4, "b")]))
case("enum_time_shift", "enum timeShift +1 s; the point at 4 s leaves [0, 4]",
     [w("e", E5, kind="enum")], series(U("enum", U("timeShift", {"input": E, "duration": dconst(1)}))),
     eplot([(1, "a"), (2, "b"), (3, "b"), (4, "c")]), end=4)
case("enum_time_shift_v2", "enum timeShiftV2 by -500 ms",
     [w("e", E5[:2], kind="enum")],
     series(U("enum", U("timeShiftV2", {"input": E, "duration": U("negate", {"input": U("milliseconds", {"milliseconds": lit(500)})})}))),
     eplot([(0.5, "b")]))
case("enum_value_map_default", "first matching [start, end) wins; unmatched values take the default",
     [w("x", [(0, -5.0), (1, 0.5), (2, 50.0)])],
     series(U("enum", U("valueMap", {"input": X, "mapping": [
         {"end": lit(0.0), "output": lit("neg")}, {"start": lit(0.0), "end": lit(1.0), "output": lit("low")}],
         "default": lit("other")}))),
     eplot([(0, "neg"), (1, "low"), (2, "other")]))

# ---------------------------------------------------------------- logs
LOGS = [(0, {"message": "engine start"}), (1, {"message": "ERROR: valve stuck", "args": {"valve": "v1"}}),
        (2, {"message": "pressure nominal"}), (3, {"message": "sensor error 42"})]


def lplot(points):
    return U("pagedLog", {"timestamps": [ts(t) for t, _ in points],
                          "values": [dict(m) for t, m in points]})


LOGN = lambda op: series(U("log", U("filter", {"input": chan("l"), "operator": op})))
case("log_regex", "regexFilter is unanchored: `\\d+` matches only the message with digits",
     [w("l", LOGS, kind="log")], LOGN(U("regexFilter", {"regex": "\\d+"})), lplot([LOGS[3]]), stripLogIds=True)
case("log_regex_anchor", "`^ERR` matches at the start only",
     [w("l", LOGS, kind="log")], LOGN(U("regexFilter", {"regex": "^ERR"})), lplot([LOGS[1]]), stripLogIds=True)
case("log_contains", "exactMatchCaseInsensitiveFilter: case-insensitive contains `error`",
     [w("l", LOGS, kind="log")], LOGN(U("exactMatchCaseInsensitiveFilter", {"token": "error"})),
     lplot([LOGS[1], LOGS[3]]), stripLogIds=True)
case("log_not_or", "not(contains `error` or regex `start`) keeps only `pressure nominal`",
     [w("l", LOGS, kind="log")],
     LOGN(U("not", U("or", [U("exactMatchCaseInsensitiveFilter", {"token": "error"}), U("regexFilter", {"regex": "start"})]))),
     lplot([LOGS[2]]), stripLogIds=True)
case("log_and", "contains `error` and regex `valve`",
     [w("l", LOGS, kind="log")],
     LOGN(U("and", [U("exactMatchCaseInsensitiveFilter", {"token": "ERROR"}), U("regexFilter", {"regex": "valve"})])),
     lplot([LOGS[1]]), stripLogIds=True)

# ---------------------------------------------------------------- ranges
case("threshold_v2_ge", "x >= 3 over 1 3 2 5 4: [1,2) and [3, open)", [w("x", X5)],
     ranges(U("thresholdRangesV2", {"input": X, "comparison": U("ge", {"threshold": lit(3.0)})})), rplot([(1, 2), (3, None)]))
case("threshold_v2_eq_tolerance", "|x - 2| <= 1 over 1 3 2 5 4: [0, 3)", [w("x", X5)],
     ranges(U("thresholdRangesV2", {"input": X, "comparison": U("eq", {"threshold": lit(2.0), "tolerance": lit(1.0)})})),
     rplot([(0, 3)]))
MM = lambda op: ranges(U("minMaxThreshold", {"input": X, "lowerBound": lit(2.0), "upperBound": lit(4.0), "operator": op}))
case("min_max_inside", "2 < x < 4 over 1 3 2 5 4: only 1 s", [w("x", X5)], MM("INSIDE_BOUNDS"), rplot([(1, 2)]))
case("min_max_inside_equal", "2 <= x <= 4: 1 s, 2 s and 4 s", [w("x", X5)], MM("INSIDE_OR_EQUAL_TO_BOUNDS"), rplot([(1, 3), (4, None)]))
case("min_max_outside", "x < 2 or x > 4: 0 s and 3 s", [w("x", X5)], MM("OUTSIDE_BOUNDS"), rplot([(0, 1), (3, 4)]))
case("min_max_outside_equal", "x <= 2 or x >= 4: 0 s, 2 s, 3 s, 4 s", [w("x", X5)], MM("OUTSIDE_OR_EQUAL_TO_BOUNDS"), rplot([(0, 1), (2, None)]))
case("intersect", "x > 2.5 gives [1,2),[3,open); x < 4.5 gives [0,3),[4,open); common: [1,2),[4,open)", [w("x", X5)],
     ranges(U("intersectRange", {"inputs": [THR(X, 2.5, "GREATER_THAN"), THR(X, 4.5, "LESS_THAN")]})),
     rplot([(1, 2), (4, None)]))
case("union_overlap", "x > 2.5 [1,2),[3,open) with x < 2.5 [0,1),[2,3): merged into one open range", [w("x", X5)],
     ranges(U("unionRange", {"inputs": [THR(X, 2.5, "GREATER_THAN"), THR(X, 2.5, "LESS_THAN")]})), rplot([(0, None)]))
case("duration_filter_infinity", "durations < 8 s with open ends infinite: [1,2) (1 s) kept, [3, open) dropped", [w("x", X5)],
     ranges(U("durationFilter", {"input": THR(X, 2.5, "GREATER_THAN"), "threshold": dconst(8), "operator": "LESS_THAN", "unboundedBehavior": "INFINITY"})),
     rplot([(1, 2)]))
case("duration_filter_window_bound", "durations < 8 s, open end measured to the window end 10 s (7 s): both kept", [w("x", X5)],
     ranges(U("durationFilter", {"input": THR(X, 2.5, "GREATER_THAN"), "threshold": dconst(8), "operator": "LESS_THAN", "unboundedBehavior": "WINDOW_BOUND"})),
     rplot([(1, 2), (3, None)]))
case("duration_filter_v2", "durationFilterV2 > 1.5 s (hours/minutes-free Duration: 1500 ms), window bound: only [3, open) (7 s)", [w("x", X5)],
     ranges(U("durationFilterV2", {"input": THR(X, 2.5, "GREATER_THAN"), "duration": U("milliseconds", {"milliseconds": lit(1500)}), "comparison": "GREATER_THAN", "unboundedBehavior": "WINDOW_BOUND"})),
     rplot([(3, None)]))
case("duration_filter_v2_window_end", "same with the window ending at 4 s: [3, open) measures 1 s, dropped", [w("x", X5)],
     ranges(U("durationFilterV2", {"input": THR(X, 2.5, "GREATER_THAN"), "duration": U("milliseconds", {"milliseconds": lit(1500)}), "comparison": "GREATER_THAN", "unboundedBehavior": "WINDOW_BOUND"})),
     rplot([]), end=4)
case("padded_ranges_merge", "[1,2),[3,open) padded 0.5 s both sides: [0.5,2.5),[2.5,open) touch and merge", [w("x", X5)],
     ranges(U("paddedRanges", {"input": THR(X, 2.5, "GREATER_THAN"), "padding": dconst(0, 500_000_000)})), rplot([(0.5, None)]))
case("padded_ranges_v2_end", "PAD_END 500 ms: [1,2.5),[3,open)", [w("x", X5)],
     ranges(U("paddedRangesV2", {"input": THR(X, 2.5, "GREATER_THAN"), "duration": U("milliseconds", {"milliseconds": lit(500)}), "paddingConfiguration": "PAD_END"})),
     rplot([(1, 2.5), (3, None)]))
case("padded_ranges_v2_start", "PAD_START 1 s: [0,2),[2,open) touch and merge", [w("x", X5)],
     ranges(U("paddedRangesV2", {"input": THR(X, 2.5, "GREATER_THAN"), "duration": secs(1), "paddingConfiguration": "PAD_START"})),
     rplot([(0, None)]))
case("on_change", "x = 1 1 2 2 1: zero-length ranges where the value differs from the previous point",
     [w("x", [(0, 1.0), (1, 1.0), (2, 2.0), (3, 2.0), (4, 1.0)])],
     ranges(U("onChange", {"input": num(X)})), rplot([(2, 2), (4, 4)]))
case("on_change_enum", "enum a b b c b: changes at 1, 3, 4 s", [w("e", E5, kind="enum")],
     ranges(U("onChange", {"input": U("enum", E)})), rplot([(1, 1), (3, 3), (4, 4)]))
EF = lambda op, vals, **kw: ranges(U("enumFilter", dict({"input": E, "operator": op, "values": lit(vals)}, **kw)))
case("enum_filter_in", "e in {b} over a b b c b: [1,3), [4, open)", [w("e", E5, kind="enum")], EF("IS_IN", ["b"]), rplot([(1, 3), (4, None)]))
case("enum_filter_not_in", "e not in {b}: [0,1), [3,4)", [w("e", E5, kind="enum")], EF("IS_NOT_IN", ["b"]), rplot([(0, 1), (3, 4)]))
case("enum_filter_regex", "regex anchored to the whole value: `b|c` matches from 1 s on; `a.` matches nothing",
     [w("e", E5, kind="enum")], EF("MATCHES_ANY_REGEX", ["b|c", "a."]), rplot([(1, None)]))
case("enum_filter_min_points", "e in {b} with minPoints 2: the single b at 4 s is dropped",
     [w("e", E5, kind="enum")],
     EF("IS_IN", ["b"], persistenceWindowConfiguration={"minPoints": lit(2), "outputRangeStart": U("firstPointMatchingCondition", {})}),
     rplot([(1, 3)]))
case("crossover", "a - b = -1 1 2 -1: sign changes at 1 s and 3 s",
     [w("a", [(0, 1.0), (1, 3.0), (2, 4.0), (3, 1.0)]), w("b", [(0, 2.0), (1, 2.0), (2, 2.0), (3, 2.0)])],
     ranges(U("seriesCrossoverRangesNode", {"inputA": A, "inputB": B})), rplot([(1, 1), (3, 3)]))
PX = [(0, 1.0), (1, 3.0), (2, 1.0), (3, 3.0), (4, 4.0), (5, 5.0), (6, 1.0)]
PW = lambda **kw: ranges(U("threshold", {"input": X, "threshold": lit(2.0), "operator": "GREATER_THAN", "persistenceWindowConfiguration": kw}))
case("persistence_min_points", "x > 2 runs: [1,2) one point (dropped), [3,6) three points (kept) with minPoints 2",
     [w("x", PX)], PW(minPoints=lit(2), outputRangeStart=U("firstPointMatchingCondition", {})), rplot([(3, 6)]))
case("persistence_min_duration", "minDuration 1.5 s: [1,2) lasts 1 s (dropped), [3,6) 3 s (kept)",
     [w("x", PX)], PW(minDuration=dconst(1, 500_000_000), outputRangeStart=U("firstPointMatchingCondition", {})), rplot([(3, 6)]))
case("persistence_after_window", "minPoints 2 with afterPersistenceWindow: [3,6) starts at its 2nd point, 4 s",
     [w("x", PX)], PW(minPoints=lit(2), outputRangeStart=U("afterPersistenceWindow", {})), rplot([(4, 6)]))
case("persistence_v2_min_points", "thresholdRangesV2 gt 2 with minPoints 3 and rangeStart PERSISTENCE_START: [5,6)",
     [w("x", PX)], ranges(U("thresholdRangesV2", {"input": X, "comparison": U("gt", {"threshold": lit(2.0)}), "minPoints": lit(3), "rangeStart": "PERSISTENCE_START"})),
     rplot([(5, 6)]))
case("persistence_boolean_min_duration", "booleanRanges x > 2 with minDuration 2 s: only [3,6)",
     [w("x", PX)], ranges(U("booleanRanges", {"input": U("greaterThan", {"left": X, "right": K(2.0)}), "minDuration": secs(2)})),
     rplot([(3, 6)]))
RS = [(0, 3.0), (1, 1.0), (2, 3.0), (3, 1.0), (4, 3.0)]
case("ranges_summary", "x > 2 gives 3 ranges, past maxRanges 2: one summary [0, open) with count 3",
     [w("x", RS)], ranges(THR(X, 2.0, "GREATER_THAN"), maxRanges=2),
     U("rangesSummary", {"rangesSummary": [{"range": rng(0, None), "subRangeCount": 3}]}))
case("ranges_at_max", "exactly maxRanges 3 ranges: still a list", [w("x", RS)],
     ranges(THR(X, 2.0, "GREATER_THAN"), maxRanges=3), rplot([(0, 1), (2, 3), (4, None)]))
case("ranges_true_start", "a range that began before start is listed with its true start", [w("x", X5)],
     ranges(THR(X, 2.5, "GREATER_THAN")), rplot([(3, None)]), start=3.5)

# ---------------------------------------------------------------- SelectValue
VX = [(0, ["NaN"]), (1, 2.0), (2, 7.0), (3, ["NaN"])]
VAL = lambda variant, inner: U("value", U(variant, inner))
case("value_first_point", "firstPoint: the NaN at 0 s", [w("x", VX)], VAL("firstPoint", num(X)),
     U("numericPoint", {"timestamp": ts(0), "value": "NaN"}))
case("value_first_value_point", "firstValuePoint skips NaN: 2 at 1 s", [w("x", VX)], VAL("firstValuePoint", num(X)),
     U("numericPoint", {"timestamp": ts(1), "value": 2}))
case("value_last_value_point", "lastValuePoint skips NaN: 7 at 2 s", [w("x", VX)], VAL("lastValuePoint", num(X)),
     U("numericPoint", {"timestamp": ts(2), "value": 7}))
case("value_last_point_empty", "no point in [5, 10]: absent", [w("x", VX)], VAL("lastPoint", num(X)),
     U("numericPoint", None), start=5)
case("value_enum_last_point", "enum lastPoint", [w("e", E5, kind="enum")], VAL("lastPoint", U("enum", E)),
     U("enumPoint", {"timestamp": ts(4), "value": "b"}))
case("value_first_range", "firstRange of x > 2", [w("x", RS)], VAL("firstRange", THR(X, 2.0, "GREATER_THAN")),
     U("rangeValue", rng(0, 1)))
case("value_last_range", "lastRange of x > 2 is open", [w("x", RS)], VAL("lastRange", THR(X, 2.0, "GREATER_THAN")),
     U("rangeValue", rng(4, None)))
case("value_nth_range_asc", "nthRange index 1 ASC", [w("x", RS)],
     VAL("nthRange", {"input": THR(X, 2.0, "GREATER_THAN"), "index": lit(1), "sortOrder": "ASC"}), U("rangeValue", rng(2, 3)))
case("value_nth_range_desc", "nthRange index 0 DESC is the last", [w("x", RS)],
     VAL("nthRange", {"input": THR(X, 2.0, "GREATER_THAN"), "index": lit(0), "sortOrder": "DESC"}), U("rangeValue", rng(4, None)))
case("value_nth_range_out_of_bounds", "nthRange index 5: absent", [w("x", RS)],
     VAL("nthRange", {"input": THR(X, 2.0, "GREATER_THAN"), "index": lit(5), "sortOrder": "ASC"}), U("rangeValue", None))

# ---------------------------------------------------------------- Duration union forms
SH = lambda d: nseries(U("timeShiftV2", {"input": X, "duration": d}))
case("duration_add", "seconds 1 + milliseconds 500 = 1.5 s", [w("x", [(0, 1.0)])],
     SH(U("add", {"left": secs(1), "right": U("milliseconds", {"milliseconds": lit(500)})})), nplot([(1.5, 1)]))
case("duration_subtract_minutes", "minutes 1 - seconds 58 = 2 s", [w("x", [(0, 1.0)])],
     SH(U("subtract", {"left": U("minutes", {"minutes": lit(1)}), "right": secs(58)})), nplot([(2, 1)]))
case("duration_nanoseconds_negate", "negate(nanoseconds 250000000) = -0.25 s", [w("x", [(1, 1.0)])],
     SH(U("negate", {"input": U("nanoseconds", {"nanoseconds": lit(250_000_000)})})), nplot([(0.75, 1)]))
case("duration_hours_days", "days 1 - hours 24 + seconds 3 = 3 s", [w("x", [(0, 1.0)])],
     SH(U("add", {"left": U("subtract", {"left": U("days", {"days": lit(1)}), "right": U("hours", {"hours": lit(24)})}), "right": secs(3)})),
     nplot([(3, 1)]))
case("duration_reference_integer_variable", "seconds from an integer variable n = 2", [w("x", [(0, 1.0)])],
     SH(U("seconds", {"seconds": U("variable", "n")})), nplot([(2, 1)]),
     context={"variables": {"n": U("integer", 2)}})

# ---------------------------------------------------------------- Context variable forms
case("context_double_variable", "scale by double variable k = 2.5", [w("x", X5[:2])],
     nseries(U("scale", {"input": X, "scalar": U("variable", "k")})), nplot([(0, 2.5), (1, 7.5)]),
     context={"variables": {"k": U("double", 2.5)}})
case("context_integer_as_double", "an integer variable where a double is asked", [w("x", X5[:2])],
     nseries(U("offset", {"input": X, "scalar": U("variable", "k")})), nplot([(0, 4), (1, 6)]),
     context={"variables": {"k": U("integer", 3)}})
case("context_builtin_pi", "DoubleConstant builtin math PI", [w("x", X5[:2])],
     nseries(U("scale", {"input": X, "scalar": U("builtin", U("math", "PI"))})), nplot([(0, math.pi), (1, 3 * math.pi)]))
case("context_string_variable_channel", "channel name from a string variable", [w("x", X5[:2])],
     nseries(U("channel", U("dataSource", {"dataSourceRid": U("variable", "ds"), "channel": U("variable", "c")}))),
     nplot([(0, 1), (1, 3)]), context={"variables": {"ds": U("string", DS), "c": U("string", "x")}})
case("context_raw_channel", "raw reference to a channel variable", [w("x", X5[:2])],
     nseries(U("raw", {"name": "v"})), nplot([(0, 1), (1, 3)]), context={"variables": {"v": U("channel", X["channel"])}})
case("context_raw_series_variable", "raw reference to a series variable selecting from a saved dataset", [w("x", X5[:2])],
     nseries(U("raw", {"name": "v"})), nplot([(0, 1), (1, 3)]),
     context={"variables": {"v": U("series", {"select": {"name": lit("x"), "dataset": U("saved", {"rid": lit(DS)})}})}})
case("context_raw_compute_node", "raw reference to a computeNode variable with its own context", [w("x", X5[:2])],
     nseries(U("raw", {"name": "v"})), nplot([(0, 10), (1, 30)]),
     context={"variables": {"v": U("computeNode", {"seriesNode": U("numeric", U("scale", {"input": X, "scalar": U("variable", "k")})),
                                                    "context": {"variables": {"k": U("double", 10.0)}}})}})
case("context_dataset_reference", "selectNumeric on a dataset reference resolved through datasetReferences", [w("x", X5[:2])],
     nseries(U("selectNumeric", {"name": lit("x"), "dataset": U("reference", {"name": lit("d")})})), nplot([(0, 1), (1, 3)]),
     context={"datasetReferences": {"d": U("saved", {"rid": lit(DS)})}})
case("context_timestamp_variable", "cumulativeSum startTimestamp from a timestamp variable (3 s)", [w("x", X5)],
     nseries(U("cumulativeSum", {"input": X, "startTimestamp": U("variable", "t0")})), nplot([(3, 5), (4, 9)]),
     context={"variables": {"t0": U("timestamp", ts(3))}})
case("context_duration_constant_variable", "timeShift DurationConstant variable of type duration", [w("x", [(0, 1.0)])],
     nseries(U("timeShift", {"input": X, "duration": U("variable", "d")})), nplot([(4, 1)]),
     context={"variables": {"d": U("duration", {"seconds": 4, "nanos": 0})}})

# ---------------------------------------------------------------- errors
P = "node.series.input.numeric"
case("error_missing_variable", "every problem at once, each with its path: k and d are missing", [w("x", X5[:2])],
     nseries(U("add", {"left": U("scale", {"input": X, "scalar": U("variable", "k")}),
                       "right": U("timeShiftV2", {"input": X, "duration": U("reference", {"name": "d"})})})),
     None, errors=[f"variable `k` is not defined in the context (at `{P}.add.left.scale.scalar.variable`)",
                   f"variable `d` is not defined in the context (at `{P}.add.right.timeShiftV2.duration.reference`)"])
case("error_variable_wrong_type", "k is a string where a double is needed", [w("x", X5[:2])],
     nseries(U("scale", {"input": X, "scalar": U("variable", "k")})), None,
     context={"variables": {"k": U("string", "two")}},
     errors=[f"variable `k` is `string`, expected double (at `{P}.scale.scalar.variable`)"])
case("error_unit_conversion_invalid", "metres cannot convert to seconds", [w("x", X5[:2], unit="m")],
     nseries(U("unitConversion", {"input": X, "outputUnit": "s"})), None,
     errors=[f"cannot convert unit `m` to `s` (at `{P}.unitConversion`)"])
case("error_add_units_invalid", "bar + m: different dimensions", [w("a", IA, unit="bar"), w("b", IB, unit="m")],
     nseries(U("add", {"left": A, "right": B})), None,
     errors=[f"cannot convert unit `m` to `bar` (at `{P}.add`)"])

# ---------------------------------------------------------------- grouping
G = lambda name, *keys: chan(name, tagsToGroupBy=list(keys))


def grouped(items):
    return U("grouped", {"responses": [{"grouping": U("tagsWithValues", tags), "response": resp} for tags, resp in items]})


case("grouped_add_by_common_tag", "a and b grouped by stand: groups pair by equal stand",
     [w("a", [(0, 1.0)], tags={"stand": "s1"}), w("a", [(0, 2.0)], tags={"stand": "s2"}),
      w("b", [(0, 10.0)], tags={"stand": "s1"}), w("b", [(0, 20.0)], tags={"stand": "s2"})],
     nseries(U("add", {"left": G("a", "stand"), "right": G("b", "stand")})),
     grouped([({"stand": "s1"}, nplot([(0, 11)])), ({"stand": "s2"}, nplot([(0, 22)]))]))
case("grouped_subtract_partial_tags", "a by (stand, engine) minus b by stand: pairs on the shared key stand",
     [w("a", [(0, 5.0)], tags={"stand": "s1", "engine": "e1"}), w("a", [(0, 6.0)], tags={"stand": "s1", "engine": "e2"}),
      w("a", [(0, 7.0)], tags={"stand": "s2", "engine": "e1"}),
      w("b", [(0, 1.0)], tags={"stand": "s1"}), w("b", [(0, 2.0)], tags={"stand": "s2"})],
     nseries(U("subtract", {"left": G("a", "stand", "engine"), "right": G("b", "stand")})),
     grouped([({"engine": "e1", "stand": "s1"}, nplot([(0, 4)])), ({"engine": "e1", "stand": "s2"}, nplot([(0, 5)])),
              ({"engine": "e2", "stand": "s1"}, nplot([(0, 5)]))]))
case("grouped_with_ungrouped", "an ungrouped input pairs with every group",
     [w("a", [(0, 1.0)], tags={"stand": "s1"}), w("a", [(0, 2.0)], tags={"stand": "s2"}), w("b", [(0, 100.0)])],
     nseries(U("multiply", {"left": G("a", "stand"), "right": B})),
     grouped([({"stand": "s1"}, nplot([(0, 100)])), ({"stand": "s2"}, nplot([(0, 200)]))]))
case("grouped_ranges", "threshold ranges per group",
     [w("a", [(0, 1.0), (1, 5.0)], tags={"stand": "s1"}), w("a", [(0, 5.0), (1, 1.0)], tags={"stand": "s2"})],
     ranges(THR(G("a", "stand"), 2.0, "GREATER_THAN")),
     grouped([({"stand": "s1"}, rplot([(1, None)])), ({"stand": "s2"}, rplot([(0, 1)]))]))

# ---------------------------------------------------------------- units
case("units_divide_m_per_s", "m / s combine into m/s", [w("a", [(0, 10.0)], unit="m"), w("b", [(0, 4.0)], unit="s")],
     nseries(U("divide", {"left": A, "right": B})), nplot([(0, 2.5)]),
     unit=U("single", U("success", "m/s")))
case("units_multiply_unitless", "bar * unitless keeps bar", [w("a", [(0, 2.0)], unit="bar"), w("b", [(0, 3.0)])],
     nseries(U("multiply", {"left": A, "right": B})), nplot([(0, 6)]), unit=U("single", U("success", "bar")))
case("units_celsius_to_fahrenheit", "F = C * 9/5 + 32: 0 -> 32, 100 -> 212, -40 -> -40",
     [w("x", [(0, 0.0), (1, 100.0), (2, -40.0)], unit="°C")],
     nseries(U("unitConversion", {"input": X, "outputUnit": "°F"})), nplot([(0, 32), (1, 212), (2, -40)]),
     unit=U("single", U("success", "°F")))
case("units_kelvin_to_celsius", "C = K - 273.15", [w("x", [(0, 273.15), (1, 300.0)], unit="K")],
     nseries(U("unitConversion", {"input": X, "outputUnit": "degC"})), nplot([(0, 0), (1, 300 - 273.15)]),
     unit=U("single", U("success", "degC")))
case("units_km_per_h_to_m_per_s", "36 km/h = 10 m/s", [w("x", [(0, 36.0)], unit="km/h")],
     nseries(U("unitConversion", {"input": X, "outputUnit": "m/s"})), nplot([(0, 10)]),
     unit=U("single", U("success", "m/s")))

# ---------------------------------------------------------------- tags
TAGGED = [w("a", [(0, 1.0), (1, 2.0)], tags={"stand": "s1", "engine": "e1"}),
          w("a", [(0, 10.0)], tags={"stand": "s1", "engine": "e2"}),
          w("a", [(0.5, 100.0)], tags={"stand": "s2", "engine": "e1"}),
          w("a", [(2, 1000.0)])]
IN = lambda key, vals: U("in", {"key": lit(key), "values": lit([lit(v) for v in vals])})
NOTIN = lambda key, vals: U("notIn", {"key": lit(key), "values": lit([lit(v) for v in vals])})
case("filter_by_tag_in", "stand in {s1}: the two s1 series merged in time order (same timestamp: series order), untagged dropped",
     TAGGED, nseries(U("filterByTag", {"input": A, "predicate": IN("stand", ["s1"])})),
     nplot([(0, 1), (0, 10), (1, 2)]))
case("filter_by_tag_not_in_derived", "pushed down through scale: engine not in {e1} keeps e2 and the untagged series",
     TAGGED, nseries(U("filterByTag", {"input": U("scale", {"input": A, "scalar": lit(2.0)}), "predicate": NOTIN("engine", ["e1"])})),
     nplot([(0, 20), (2, 2000)]))
case("filter_by_tag_and_grouped", "stand in {s1, s2} and engine in {e1}, grouped by stand",
     TAGGED, nseries(U("filterByTag", {"input": G("a", "stand"), "predicate": U("and", {"left": IN("stand", ["s1", "s2"]), "right": IN("engine", ["e1"])})})),
     grouped([({"stand": "s1"}, nplot([(0, 1), (1, 2)])), ({"stand": "s2"}, nplot([(0.5, 100)]))]))
case("filter_by_tag_variable_set", "values from a stringSet variable", TAGGED,
     nseries(U("filterByTag", {"input": A, "predicate": U("in", {"key": lit("stand"), "values": U("variable", "stands")})})),
     nplot([(0.5, 100)]), context={"variables": {"stands": U("stringSet", ["s2"])}})
case("filter_by_tag_enum", "enum filterByTag", [w("e", [(0, "x")], kind="enum", tags={"k": "1"}), w("e", [(1, "y")], kind="enum", tags={"k": "2"})],
     series(U("enum", U("filterByTag", {"input": E, "predicate": IN("k", ["2"])}))), eplot([(1, "y")]))
case("filter_by_tag_log", "log filterByTag", [w("l", [LOGS[0]], kind="log", tags={"k": "1"}), w("l", [LOGS[2]], kind="log", tags={"k": "2"})],
     series(U("log", U("filterByTag", {"input": chan("l"), "predicate": NOTIN("k", ["2"])}))), lplot([LOGS[0]]), stripLogIds=True)
case("select_tags", "grouped by (stand, engine), selectTags [stand]: tags narrowed, the two s1 groups stay distinct",
     TAGGED[:3], nseries(U("selectTags", {"input": G("a", "stand", "engine"), "tagKeys": [lit("stand")]})),
     grouped([({"stand": "s1"}, nplot([(0, 1), (1, 2)])), ({"stand": "s1"}, nplot([(0, 10)])), ({"stand": "s2"}, nplot([(0.5, 100)]))]))
case("select_tags_ungrouped", "selectTags on an ungrouped series changes nothing", TAGGED,
     nseries(U("selectTags", {"input": A, "tagKeys": [lit("stand")]})), nplot([(0, 1), (0, 10), (0.5, 100), (1, 2), (2, 1000)]))
TF = lambda tf: nseries(chan("a", tagFilters=tf))
case("tag_filters_single", "channel tagFilters single IN", TAGGED,
     TF(U("single", {"key": lit("engine"), "values": [lit("e2")], "operator": "IN"})), nplot([(0, 10)]))
case("tag_filters_and", "tagFilters and: stand IN {s1} and engine NOT_IN {e2}", TAGGED,
     TF(U("and", [U("single", {"key": lit("stand"), "values": [lit("s1")], "operator": "IN"}),
                  U("single", {"key": lit("engine"), "values": [lit("e2")], "operator": "NOT_IN"})])),
     nplot([(0, 1), (1, 2)]))
case("error_tag_variable_wrong_type", "a stringSet variable of the wrong type is reported with its path", TAGGED,
     nseries(U("filterByTag", {"input": A, "predicate": U("in", {"key": lit("stand"), "values": U("variable", "stands")})})),
     None, context={"variables": {"stands": U("string", "s2")}},
     errors=[f"variable `stands` is `string`, expected stringSet (at `{P}.filterByTag.predicate.in.values.variable`)"])

if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
    for name, d in CASES.items():
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(d, f, indent=1, ensure_ascii=False)
            f.write("\n")
    print(len(CASES), "cases written")
