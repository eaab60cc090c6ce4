//! Small 3-vector maths for the generator: rotations by rotation vectors (axis × angle), slerp, smooth ramps.

pub(crate) type V3 = [f64; 3];

pub(crate) const ZERO: V3 = [0.0; 3];

pub(crate) fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub(crate) fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(crate) fn scale(a: V3, k: f64) -> V3 {
    [a[0] * k, a[1] * k, a[2] * k]
}

/// Component-wise product.
pub(crate) fn mul(a: V3, b: V3) -> V3 {
    [a[0] * b[0], a[1] * b[1], a[2] * b[2]]
}

pub(crate) fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn cross(a: V3, b: V3) -> V3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

pub(crate) fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}

/// The unit vector along `a` (the x axis for a zero vector, which the tables never hold).
pub(crate) fn normalize(a: V3) -> V3 {
    let n = norm(a);
    if n > 1e-12 { scale(a, 1.0 / n) } else { [1.0, 0.0, 0.0] }
}

/// Rotates `v` by the rotation vector `r` (axis `r/|r|`, angle `|r|` radians, right hand), Rodrigues' formula.
pub(crate) fn rotate(v: V3, r: V3) -> V3 {
    let angle = norm(r);
    if angle < 1e-12 {
        return v;
    }
    let k = scale(r, 1.0 / angle);
    let (s, c) = angle.sin_cos();
    add(add(scale(v, c), scale(cross(k, v), s)), scale(k, dot(k, v) * (1.0 - c)))
}

/// Rotation about the z axis by `angle` radians.
pub(crate) fn rotate_z(v: V3, angle: f64) -> V3 {
    let (s, c) = angle.sin_cos();
    [v[0] * c - v[1] * s, v[0] * s + v[1] * c, v[2]]
}

/// Angle in radians between two unit vectors.
pub(crate) fn angle_between(a: V3, b: V3) -> f64 {
    norm(cross(a, b)).atan2(dot(a, b))
}

/// Spherical interpolation between unit vectors `a` (at 0) and `b` (at 1).
pub(crate) fn slerp(a: V3, b: V3, t: f64) -> V3 {
    let axis = cross(a, b);
    let n = norm(axis);
    if n < 1e-9 {
        return normalize(add(scale(a, 1.0 - t), scale(b, t)));
    }
    let angle = n.atan2(dot(a, b));
    rotate(a, scale(axis, angle * t / n))
}

/// 0 below 0, 1 above 1, and a smooth S-curve (zero slope at both ends) between.
pub(crate) fn smoothstep(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// Minimum-jerk position profile from 0 to 1 (how people move a hand from one place to another).
pub(crate) fn minimum_jerk(x: f64) -> f64 {
    let x = x.clamp(0.0, 1.0);
    x * x * x * (10.0 + x * (-15.0 + 6.0 * x))
}

/// A bump that rises from 0 at `x = 0` to 1 at `x = 0.5` and back to 0 at `x = 1`; 0 outside.
pub(crate) fn bump(x: f64) -> f64 {
    if (0.0..=1.0).contains(&x) { (std::f64::consts::PI * x).sin().powi(2) } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_about_z_by_rotate_and_rotate_z_agree() {
        let v = [0.3, -0.8, 0.5];
        let a = rotate(v, [0.0, 0.0, 0.7]);
        let b = rotate_z(v, 0.7);
        for i in 0..3 {
            assert!((a[i] - b[i]).abs() < 1e-12);
        }
        assert!((rotate_z([1.0, 0.0, 0.0], std::f64::consts::FRAC_PI_2)[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn slerp_keeps_unit_length_and_reaches_the_ends() {
        let a = normalize([1.0, 0.2, 0.0]);
        let b = normalize([0.0, 0.3, -1.0]);
        let mid = slerp(a, b, 0.5);
        assert!((norm(mid) - 1.0).abs() < 1e-12);
        assert!((angle_between(a, mid) - angle_between(mid, b)).abs() < 1e-9);
        assert!(angle_between(slerp(a, b, 1.0), b) < 1e-9);
    }
}
