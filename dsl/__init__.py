"""flowc.dsl"""
