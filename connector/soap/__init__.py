"""SOAP services: static ``.wsdl`` files, hardened envelope parsing, dispatch by the body
element's QName, and faults; among them the drop-in for stock 1C:Retail's discount server."""
