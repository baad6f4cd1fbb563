//! The OpenAPI document at `/api/openapi.json`, generated from the handlers' annotations and
//! the record types, so it cannot drift from what the server accepts.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::api;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vitrine API",
        description = "Opt-in feedback from visitors, and the team's insights over it."
    ),
    paths(api::submit, api::insights, api::export, api::delete),
    modifiers(&AdminToken)
)]
pub struct ApiDoc;

struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
