//! RFC 9457 problem details: every error leaves the API as
//! `application/problem+json` with `type`, `title`, `status` and `detail`,
//! and never with internal details (SQL, file paths, stack traces).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Largest error body read back when turning a framework error into a problem.
const MAX_DETAIL: usize = 1024;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub type_: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
}

impl Problem {
    /// A problem with `status` and `detail`; type and title follow the status.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        let (kind, title) = match status {
            StatusCode::BAD_REQUEST => ("bad-request", "Bad request"),
            StatusCode::UNAUTHORIZED => ("unauthorized", "Authentication required"),
            StatusCode::FORBIDDEN => ("forbidden", "Not permitted by the sharing policy"),
            StatusCode::NOT_FOUND => ("not-found", "Not found"),
            StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
            StatusCode::CONFLICT => ("conflict", "Conflict"),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "Request body too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported-media-type", "Unsupported media type")
            }
            StatusCode::UNPROCESSABLE_ENTITY => ("invalid-input", "Invalid input"),
            StatusCode::NOT_IMPLEMENTED => ("not-implemented", "Not available on this node yet"),
            s if s.is_server_error() => ("internal", "Internal error"),
            _ => ("error", "Error"),
        };
        Problem {
            type_: format!("urn:palermo:problem:{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    /// A 500 problem; `cause` goes to the operator's log, not to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Problem {
        tracing::error!(error = %cause, "request failed");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the node could not complete the request; its operator's log has the details",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Middleware: turns every error response that is not yet a problem (the
/// framework's 404, 405, 413, extractor rejections...) into one. Client
/// errors keep the framework's short message as detail; server errors get
/// the generic one.
pub(crate) async fn problems(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    if status.is_server_error() {
        return Problem::internal(&format_args!("framework error {status}")).into_response();
    }
    let (_, body) = response.into_parts();
    let detail = match axum::body::to_bytes(Body::new(body), MAX_DETAIL).await {
        Ok(bytes) if !bytes.is_empty() => String::from_utf8_lossy(&bytes).trim().to_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    Problem::new(status, detail).into_response()
}
