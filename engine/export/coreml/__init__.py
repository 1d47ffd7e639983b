"""Core ML: conversion, spec-level passes, a reference evaluator for checks, the iOS bundle."""
