//! Documented limits of a field: each applies to the right kind of value, and no range is impossible.

use super::Checker;
use super::fields::Resolver;
use crate::model::{Constraints, DaysAgo, Limit, Type};
use crate::spec::{ConstraintsSpec, LimitSpec};

/// Checks the limits of a field of type `ty` (written `type_name` in the spec).
pub(super) fn check(
    cx: &mut Checker,
    file: &str,
    at: &str,
    c: &ConstraintsSpec,
    ty: &Type,
    type_name: &str,
    resolver: &Resolver<'_, '_>,
) -> Constraints {
    let mut out = Constraints::default();
    let is_array = matches!(ty, Type::Array(_));
    let is_string = *ty == Type::String;
    let is_int = ty.is_integer();
    let kind_check = |cx: &mut Checker, key: &str, present: bool, ok: bool, what: &str| {
        if present && !ok {
            cx.err(file, format!("{at}.{key}"), format!("`{key}` applies to {what}, not to `{type_name}`"));
        }
    };
    kind_check(cx, "min_items", c.min_items.is_some(), is_array, "arrays");
    kind_check(cx, "max_items", c.max_items.is_some(), is_array, "arrays");
    kind_check(cx, "each", c.each.is_some(), is_array, "arrays");
    kind_check(cx, "min", c.min.is_some(), is_int, "integers");
    kind_check(cx, "max", c.max.is_some(), is_int, "integers");
    kind_check(cx, "min_chars", c.min_chars.is_some(), is_string, "strings");
    kind_check(cx, "max_chars", c.max_chars.is_some(), is_string, "strings");
    kind_check(cx, "truncated_chars", c.truncated_chars.is_some(), is_string, "strings");
    kind_check(cx, "days_ago", c.days_ago.is_some(), *ty == Type::Day, "`day` fields");

    let lim = |l: Option<LimitSpec>| l.map(|l| Limit { value: l.value(), errcode: l.errcode() });
    out.min_items = lim(c.min_items);
    out.max_items = lim(c.max_items);
    out.min = lim(c.min);
    out.max = lim(c.max);
    out.min_chars = lim(c.min_chars);
    out.max_chars = lim(c.max_chars);
    out.truncated_chars = c.truncated_chars;
    out.days_ago = c.days_ago.map(|d| DaysAgo { min: d.min, max: d.max, errcode: d.errcode });

    for (key, l) in [
        ("min_items", out.min_items),
        ("max_items", out.max_items),
        ("min_chars", out.min_chars),
        ("max_chars", out.max_chars),
    ] {
        if let Some(l) = l
            && l.value < 0
        {
            cx.err(file, format!("{at}.{key}"), format!("{} is negative", l.value));
        }
    }
    if let Some(l) = out.max_items
        && l.value == 0
    {
        cx.err(file, format!("{at}.max_items"), "0 allows no items at all");
    }
    if let Some(l) = out.max_chars
        && l.value == 0
    {
        cx.err(file, format!("{at}.max_chars"), "0 allows only the empty string");
    }
    for (lo, hi, what) in [
        (out.min_items, out.max_items, "min_items"),
        (out.min, out.max, "min"),
        (out.min_chars, out.max_chars, "min_chars"),
    ] {
        if let (Some(lo), Some(hi)) = (lo, hi)
            && lo.value > hi.value
        {
            cx.err(
                file,
                format!("{at}.{what}"),
                format!("impossible range: minimum {} is above maximum {}", lo.value, hi.value),
            );
        }
    }
    if let Some(t) = out.truncated_chars
        && t < 1
    {
        cx.err(file, format!("{at}.truncated_chars"), format!("{t} is not a usable length"));
    }
    if let Some(d) = out.days_ago {
        if d.min < 0 {
            cx.err(file, format!("{at}.days_ago.min"), format!("{} lies in the future", d.min));
        }
        if d.min > d.max {
            cx.err(file, format!("{at}.days_ago"), format!("impossible range: min {} is above max {}", d.min, d.max));
        }
    }
    if let Some(each) = &c.each
        && let Type::Array(inner) = ty
    {
        let inner_name = resolver.spec_name(inner);
        out.each = Some(Box::new(check(cx, file, &format!("{at}.each"), each, inner, &inner_name, resolver)));
    }
    out
}
