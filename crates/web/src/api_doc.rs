//! The JSON API's routes and its OpenAPI document, registered together:
//! [`ApiRoutes::route`] adds a handler to the router and its description
//! to the document in one call, so no route can be served undocumented.
//! Schemas come from the wire and domain types themselves
//! (`utoipa::ToSchema`); the errors every route shares (problem+json) are
//! added here from the route's shape, not by hand.

use std::collections::BTreeMap;

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, on};
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ComponentsBuilder, Content, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Ref, RefOr, Required, ResponseBuilder,
    Schema,
};
use utoipa::{PartialSchema, ToSchema};

use crate::WebState;
use crate::error::Problem;

/// A named schema of the document, with every schema it refers to.
pub struct Wire {
    name: String,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl Wire {
    /// A wire or domain type, under its own name.
    pub fn of<B: ToSchema>() -> Self {
        let name = B::name().into_owned();
        let mut schemas = vec![(name.clone(), B::schema())];
        B::schemas(&mut schemas);
        Wire { name, schemas }
    }

    /// A generic wire type `B` over `T` (a record body of a kind), under a
    /// name of its own: utoipa names every `B<T>` alike.
    pub fn generic<B: PartialSchema, T: ToSchema>(name: String) -> Self {
        let mut schemas = Wire::of::<T>().schemas;
        schemas.push((name.clone(), B::schema()));
        Wire { name, schemas }
    }

    /// A list answer: `{items, total, limit, offset}`.
    pub fn page(mut self) -> Self {
        let name = format!("{}Page", self.name);
        let count = |description: &str| {
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::Integer))
                .minimum(Some(0))
                .description(Some(description))
        };
        let page = ObjectBuilder::new()
            .description(Some(format!("One page of {}s, oldest or first first.", self.name)))
            .property("items", ArrayBuilder::new().items(self.reference()))
            .property("total", count("How many there are in all."))
            .property("limit", count("The most items a page holds."))
            .property("offset", count("How many items come before this page."))
            .required("items")
            .required("total")
            .required("limit")
            .required("offset");
        self.schemas.push((name.clone(), page.into()));
        self.name = name;
        self
    }

    fn reference(&self) -> Ref {
        Ref::from_schema_name(self.name.clone())
    }
}

/// How one operation is described.
pub struct Doc {
    id: String,
    tag: String,
    summary: String,
    body: Option<Wire>,
    answer: (u16, &'static str, Option<Wire>),
    query: Vec<(&'static str, &'static str)>,
    paged: bool,
    conflicts: bool,
}

impl Doc {
    /// `id` is the operation id; `tag` groups operations (one per kind).
    pub fn new(id: impl Into<String>, tag: &str, summary: impl Into<String>) -> Self {
        Doc {
            id: id.into(),
            tag: tag.into(),
            summary: summary.into(),
            body: None,
            answer: (200, "OK", None),
            query: Vec::new(),
            paged: false,
            conflicts: false,
        }
    }

    /// The JSON body it takes (unknown fields are refused).
    pub fn body(mut self, wire: Wire) -> Self {
        self.body = Some(wire);
        self
    }

    /// What it answers when it succeeds.
    pub fn answers(mut self, status: u16, description: &'static str, wire: Wire) -> Self {
        self.answer = (status, description, Some(wire));
        self
    }

    /// What it answers when it succeeds with no body (204).
    pub fn answers_nothing(mut self, description: &'static str) -> Self {
        self.answer = (204, description, None);
        self
    }

    /// A list: answers a page of `wire` and takes `limit` and `offset`.
    pub fn lists(mut self, wire: Wire) -> Self {
        self.answer = (200, "One page of the list.", Some(wire.page()));
        self.paged = true;
        self
    }

    /// A query parameter besides `limit` and `offset`.
    pub fn query(mut self, name: &'static str, description: &'static str) -> Self {
        self.query.push((name, description));
        self
    }

    /// It takes the version it was read at and answers 409 when someone
    /// saved since.
    pub fn versioned(mut self) -> Self {
        self.conflicts = true;
        self
    }

    fn operation(&self, path: &str) -> Operation {
        let mut op = OperationBuilder::new().operation_id(Some(&self.id)).tag(&self.tag).summary(Some(&self.summary));
        if let Some((_, kind)) = path.split_once("/{id}").map(|(before, _)| before.rsplit_once('/').unwrap_or_default())
        {
            op = op.parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some(format!("The id of one of the caller's {kind}.")))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String).format(Some(uuid_format())))),
            );
        }
        let mut query: Vec<(&str, &str)> = self.query.clone();
        if self.paged {
            query.push(("limit", "The most items to answer: 1 to 200, 50 when left out."));
            query.push(("offset", "How many items to skip, 0 when left out."));
        }
        for (name, description) in query {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(description))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
            );
        }
        if let Some(body) = &self.body {
            let content = Content::new(Some(body.reference()));
            op = op.request_body(Some(
                RequestBodyBuilder::new().required(Some(Required::True)).content("application/json", content).build(),
            ));
        }
        let (status, description, wire) = &self.answer;
        let mut ok = ResponseBuilder::new().description(*description);
        if let Some(wire) = wire {
            ok = ok.content("application/json", Content::new(Some(wire.reference())));
        }
        op = op.response(status.to_string(), ok);
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
        };
        op = op
            .response("401", problem("No session and no valid access token."))
            .response("403", problem("Refused: a missing CSRF header with a session cookie, or an unverified account."))
            .response("429", problem("Too many requests; try again later."));
        if path.contains("{id}") {
            op = op.response("404", problem("No such id among the caller's own (another therapist's ids alike)."));
        }
        if self.body.is_some() || !self.query.is_empty() || self.paged {
            op = op
                .response("400", problem("Malformed JSON or query string, or an unknown query parameter."))
                .response("422", problem("Invalid input; `errors` names each field where it can."));
        }
        if self.body.is_some() {
            op = op.response("415", problem("The body is not `application/json`."));
        }
        if self.conflicts {
            op = op.response("409", problem("Saved by someone else since `version` was read, or signed."));
        }
        op.build()
    }
}

fn uuid_format() -> utoipa::openapi::schema::SchemaFormat {
    utoipa::openapi::schema::SchemaFormat::KnownFormat(utoipa::openapi::schema::KnownFormat::Uuid)
}

/// The API router under construction, with its document.
pub struct ApiRoutes {
    router: Router<WebState>,
    paths: Paths,
    schemas: BTreeMap<String, RefOr<Schema>>,
}

impl ApiRoutes {
    pub fn new() -> Self {
        let mut schemas = BTreeMap::new();
        for (name, schema) in Wire::of::<Problem>().schemas {
            schemas.insert(name, schema);
        }
        ApiRoutes { router: Router::new(), paths: Paths::new(), schemas }
    }

    /// Serves `handler` at `method path` and describes it in the document.
    pub fn route<H, X>(mut self, method: HttpMethod, path: &str, handler: H, doc: Doc) -> Self
    where
        H: Handler<X, WebState>,
        X: 'static,
    {
        let filter = match method {
            HttpMethod::Get => MethodFilter::GET,
            HttpMethod::Post => MethodFilter::POST,
            HttpMethod::Put => MethodFilter::PUT,
            HttpMethod::Delete => MethodFilter::DELETE,
            HttpMethod::Patch => MethodFilter::PATCH,
            HttpMethod::Head => MethodFilter::HEAD,
            HttpMethod::Options => MethodFilter::OPTIONS,
            HttpMethod::Trace => MethodFilter::TRACE,
        };
        self.router = self.router.route(path, on(filter, handler));
        let operation = doc.operation(path);
        let item = PathItem::new(method, operation);
        match self.paths.paths.get_mut(path) {
            Some(existing) => existing.merge_operations(item),
            None => {
                self.paths.paths.insert(path.to_owned(), item);
            }
        }
        for wire in doc.body.into_iter().chain(doc.answer.2) {
            for (name, schema) in wire.schemas {
                self.schemas.entry(name).or_insert(schema);
            }
        }
        self
    }

    /// The router, and the document that describes it.
    pub fn finish(self) -> (Router<WebState>, OpenApi) {
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("A personal access token (`cbt_pat_…`) made on the account's security page."))
            .build();
        let cookie = ApiKey::Cookie(ApiKeyValue::with_description(
            crate::cookies::SESSION,
            "The browser session. Changes also need the `X-CSRF-Token` header.",
        ));
        let mut components = ComponentsBuilder::new()
            .security_scheme("access_token", SecurityScheme::Http(bearer))
            .security_scheme("session", SecurityScheme::ApiKey(cookie));
        for (name, schema) in self.schemas {
            components = components.schema(name, schema);
        }
        let info = InfoBuilder::new()
            .title("CBT Assistant Pro API")
            .version("1")
            .description(Some(
                "Clients and clinical records of the calling therapist. Every id is scoped to the caller: another \
                 therapist's id answers 404. Bodies refuse unknown fields. Errors are application/problem+json.",
            ))
            .build();
        let doc = OpenApiBuilder::new()
            .info(info)
            .paths(self.paths)
            .components(Some(components.build()))
            .security(Some([
                SecurityRequirement::new("access_token", Vec::<String>::new()),
                SecurityRequirement::new("session", Vec::<String>::new()),
            ]))
            .build();
        (self.router, doc)
    }
}
