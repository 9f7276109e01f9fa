"""flowc.compiler"""
