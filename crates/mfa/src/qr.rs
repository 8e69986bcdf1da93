//! The enrolment QR code as inline SVG.
//!
//! The `qrcode` crate's SVG renderer uses `fill` attributes (no inline styles), but it writes an
//! XML declaration (out of place inside HTML), a fixed `width`/`height` and no accessible name.
//! So only its `<path>` of dark modules is kept, rendered without its quiet zone at one unit per
//! module, and wrapped in an `<svg>` of our own:
//!
//! - no `style` attribute and no `<style>` element (the CSP has no `'unsafe-inline'`); colours
//!   are presentation attributes, which a stylesheet may still override (for example in dark mode,
//!   provided the contrast stays dark-on-light);
//! - a white four-module quiet zone (ISO/IEC 18004) drawn by a background `<rect>` that covers the
//!   whole `viewBox`;
//! - a `viewBox` and no `width`/`height`, so CSS sets the size (a QR code fills its container);
//! - `role="img"`, `aria-label` and `<title>` with a fixed description: never the encoded data, which
//!   for enrolment is an `otpauth://` URI holding the secret.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use crate::MfaError;

/// The accessible name of the image.
pub const QR_LABEL: &str = "QR code to scan with your authenticator app";
/// Light modules on each side (ISO/IEC 18004 asks for 4).
const QUIET_ZONE: usize = 4;

/// `data` as an SVG QR code (error correction level M) to put inline in a page.
pub fn qr_svg(data: &str) -> Result<String, MfaError> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|error| MfaError::Qr(error.to_string()))?;
    let rendered = code
        .render::<svg::Color<'_>>()
        .quiet_zone(false)
        .module_dimensions(1, 1)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    let path = dark_path(&rendered).ok_or_else(|| MfaError::Qr("unexpected output from the SVG renderer".into()))?;
    let q = QUIET_ZONE;
    let size = code.width() + 2 * q;
    Ok(format!(
        concat!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="-{q} -{q} {size} {size}""##,
            r##" role="img" aria-label="{label}" shape-rendering="crispEdges">"##,
            r##"<title>{label}</title>"##,
            r##"<rect x="-{q}" y="-{q}" width="{size}" height="{size}" fill="#fff"/>"##,
            r##"{path}</svg>"##,
        ),
        q = q,
        size = size,
        label = QR_LABEL,
        path = path,
    ))
}

/// The renderer's `<path fill="#000" d="…"/>` element, checked to hold nothing but path commands.
fn dark_path(rendered: &str) -> Option<&str> {
    const OPEN: &str = r##"<path fill="#000" d=""##;
    const CLOSE: &str = r#""/>"#;
    let start = rendered.find(OPEN)?;
    let d_start = start + OPEN.len();
    let d_len = rendered.get(d_start..)?.find(CLOSE)?;
    let d = rendered.get(d_start..d_start + d_len)?;
    if !d.bytes().all(|b| b.is_ascii_digit() || b"MhvHV ".contains(&b)) {
        return None;
    }
    rendered.get(start..d_start + d_len + CLOSE.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::totp::{ISSUER, TotpSecret};

    fn enrolment_svg() -> (String, String) {
        let secret = TotpSecret::from_bytes(b"12345678901234567890").unwrap();
        let uri = secret.otpauth_uri(ISSUER, "therapist@example.org");
        (qr_svg(&uri).unwrap(), secret.to_base32())
    }

    /// Checklist item 20: the page's CSP forbids inline styles, so the SVG must carry none.
    #[test]
    fn checklist_20_svg_has_no_inline_style() {
        let (svg, _) = enrolment_svg();
        assert!(!svg.to_ascii_lowercase().contains("style"), "{svg}");
        assert!(!svg.contains("<?xml"));
        assert!(!svg.contains("<script") && !svg.contains("href"));
    }

    #[test]
    fn svg_is_accessible_scalable_and_hides_the_data() {
        let (svg, secret_b32) = enrolment_svg();
        assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="-4 -4 "#), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.contains(r#" role="img""#));
        assert!(svg.contains(&format!(r#" aria-label="{QR_LABEL}""#)));
        assert!(svg.contains(&format!("<title>{QR_LABEL}</title>")));
        let open_tag = &svg[..svg.find('>').unwrap()];
        assert!(!open_tag.contains(" width=") && !open_tag.contains(" height="), "{open_tag}");
        assert!(!svg.contains(&secret_b32) && !svg.contains("otpauth"));
    }

    #[test]
    fn svg_draws_every_dark_module_inside_a_quiet_zone() {
        let (svg, _) = enrolment_svg();
        let uri = TotpSecret::from_bytes(b"12345678901234567890").unwrap().otpauth_uri(ISSUER, "therapist@example.org");
        let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).unwrap();
        let n = code.width();
        let size = n + 8;
        assert!(svg.contains(&format!(r#"viewBox="-4 -4 {size} {size}""#)));
        assert!(svg.contains(&format!(r##"<rect x="-4" y="-4" width="{size}" height="{size}" fill="#fff"/>"##)));
        let dark = code.to_colors().iter().filter(|c| **c == qrcode::Color::Dark).count();
        assert_eq!(svg.matches('M').count(), dark);
        // Every module lies within the code, so the four-module border stays light.
        let d_start = svg.find(" d=\"").unwrap() + 4;
        let d = &svg[d_start..svg[d_start..].find('"').unwrap() + d_start];
        for command in d.split('M').skip(1) {
            let (x, rest) = command.split_once(' ').unwrap();
            let y: String = rest.chars().take_while(char::is_ascii_digit).collect();
            assert!(x.parse::<usize>().unwrap() < n && y.parse::<usize>().unwrap() < n, "{command}");
        }
    }

    #[test]
    fn too_much_data_is_an_error() {
        assert!(matches!(qr_svg(&"x".repeat(5_000)), Err(MfaError::Qr(_))));
        assert!(qr_svg("").is_ok());
    }
}
