//! `GET /openapi.json`: the service described as OpenAPI 3.0, written out by hand (the endpoints are few and their
//! shapes are the thesis service's, which this keeps in one readable place).

use serde_json::{Value, json};

use crate::model::ModelCard;

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The document for a service running `card`'s model.
pub fn spec(card: &ModelCard) -> Value {
    let window = json!({
        "type": "array", "minItems": card.window, "maxItems": card.window,
        "description": format!("{} timesteps of [{}]", card.window, card.channels.join(", ")),
        "items": {"type": "array", "minItems": card.channels.len(), "maxItems": card.channels.len(), "items": {"type": "number"}}
    });
    let errors = json!({
        "401": error_response("Missing or wrong bearer token (when the service was started with --token-file)"),
        "413": error_response("The body is larger than --max-body-mb"),
        "415": error_response("Unsupported content type"),
        "422": error_response("Invalid input: the detail names the field (FastAPI's [{loc, msg, type}]) or the CSV line"),
    });
    let with = |extra: Value| {
        let mut e = errors.clone();
        if let (Some(map), Some(add)) = (e.as_object_mut(), extra.as_object()) {
            for (k, v) in add {
                map.insert(k.clone(), v.clone());
            }
        }
        e
    };
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "HAR Monitor service",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!("Human activity recognition with {} {} ({} classes). Drop-in for the thesis' FastAPI service: same paths and fields; the card's scaler is applied to raw sensor values.", card.name, card.version, card.classes.len()),
        },
        "paths": {
            "/predict": {"post": {
                "summary": "Classify one window (JSON), or every window of a sensor CSV (text/csv; CSV back with Accept: text/csv)",
                "requestBody": {"required": true, "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/PredictionRequest"}},
                    "text/csv": {"schema": {"type": "string"}}
                }},
                "responses": with(json!({"200": {"description": "The prediction", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictionResponse"}}, "text/csv": {"schema": {"type": "string"}}}}}))
            }},
            "/predict/batch": {"post": {
                "summary": "Classify several windows",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchPredictionRequest"}}}},
                "responses": with(json!({"200": {"description": "One prediction per window", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchPredictionResponse"}}}}}))
            }},
            "/api/upload": {"post": {
                "summary": "Score a sensor CSV (multipart field `file`): predictions, activity summary, three monitoring layers",
                "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}}}},
                "responses": with(json!({"200": {"description": "The thesis service's UploadResult", "content": {"application/json": {"schema": {"type": "object"}}}}}))
            }},
            "/health": {"get": {"summary": "Liveness (no token needed)", "responses": {"200": {"description": "Health", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}}},
            "/api/health": {"get": {"summary": "Alias of /health", "responses": {"200": {"description": "Health"}}}},
            "/model-info": {"get": {"summary": "The model and its card", "responses": {"200": {"description": "Model information"}}}},
            "/model/info": {"get": {"summary": "Alias of /model-info", "responses": {"200": {"description": "Model information"}}}},
            "/api/model/info": {"get": {"summary": "Alias of /model-info", "responses": {"200": {"description": "Model information"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics (text exposition 0.0.4)", "responses": {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.0"}}}}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "properties": {"detail": {}}, "required": ["detail"]},
                "PredictionRequest": {"type": "object", "required": ["window"], "properties": {"window": window, "return_probabilities": {"type": "boolean", "default": false}}},
                "BatchPredictionRequest": {"type": "object", "required": ["windows"], "properties": {"windows": {"type": "array", "minItems": 1, "items": window}, "return_probabilities": {"type": "boolean", "default": false}}},
                "PredictionResponse": {"type": "object", "properties": {
                    "activity": {"type": "string", "enum": card.classes}, "activity_id": {"type": "integer"},
                    "confidence": {"type": "number"}, "probabilities": {"type": "object", "nullable": true, "additionalProperties": {"type": "number"}},
                    "timestamp": {"type": "string"}, "model_version": {"type": "string"}
                }},
                "BatchPredictionResponse": {"type": "object", "properties": {"predictions": {"type": "array", "items": {"$ref": "#/components/schemas/PredictionResponse"}}, "total_windows": {"type": "integer"}, "processing_time_ms": {"type": "number"}}},
                "Health": {"type": "object", "properties": {"status": {"type": "string"}, "model_loaded": {"type": "boolean"}, "baseline_loaded": {"type": "boolean"}, "timestamp": {"type": "string"}, "uptime_seconds": {"type": "number"}}}
            }
        }
    })
}
